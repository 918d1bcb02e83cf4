/** The validation layer: one set of checks for the library, the CLI and the server. */
export { describeRule, numberProblem, parseNumberText, shown, type NumberRule } from './number.js';
export {
  checkArray, checkBoolean, checkChoice, checkKnownKeys, checkNumber, checkNumberList, checkObject, checkString, checkTokenIds,
  isRecord, optionalNumber, type ListRule, type StringRule,
} from './check.js';
export {
  choiceOption, listOption, numberListOption, numberOption, parseChoiceOption, parseListText, parseNumberListOption, parseNumberOption,
  requireOption, textOption,
} from './cli.js';
export { httpQuantity, MAX_BATCH, MAX_HTTP_N, MAX_STRENGTH, quantity, quantityOption, QUANTITIES, type QuantityName, type QuantitySpec } from './rules.js';
export { checkInputDir, checkInputFile, checkOutputDir, checkOutputFile, fsError, isErrnoError, readInputFile, withFs } from './paths.js';
