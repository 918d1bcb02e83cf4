/** The overoptimization study: Best-of-N, MBR-BoN and KL-BoN over a ladder of proxies against one gold judge. */
export { runStudy, validateStudyOptions, type StudyOptions, type StudyResult, type LadderRung, type StudySteering, type StudyTiming } from './run.js';
export { drawLadderPool, poolFor, type LadderPool, type DrawLadderOptions } from './pools.js';
export { calibrateSelector, betaScale, RELATIVE_BETA_GRID, REGULARISED, type SelectorCalibration, type Regularised } from './calibrate.js';
export { proxyCurves, powersOfTwo, pairedDifference, armLabel, type StudyPoint, type StudyArm, type StudyKl, type Policy } from './curves.js';
export { proxyVerdict, type ProxyVerdict, type RegularisedVerdict, type Outcome } from './verdict.js';
export { writeStudyReport, studyDocument, studySummary, STUDY_FORMAT } from './report/write.js';
