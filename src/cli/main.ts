#!/usr/bin/env node
/** The onnx-steer executable: process-level safety, then the program. */
import { installProcessGuards } from './process.js';
import { main } from './program.js';
import { reportError } from './common.js';

installProcessGuards();
main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => { process.exitCode = reportError(err); });
