/** The library version, recorded in manifests and vector files. */
export const LIBRARY_NAME = 'onnx-steer';
export const LIBRARY_VERSION = '0.1.0';
