/**
 * Registers on the wasm backend the training kernels it lacks or runs slowly. Measured on tfjs-backend-wasm
 * 4.22: of the kernels a dense or CNN `fit` reaches (MatMul, BiasAdd's Sum, Relu/Step, MaxPool/MaxPoolGrad,
 * Softmax, Log, Conv2D, Conv2DBackpropInput, the SGD/Adam update ops) only Conv2DBackpropFilter is missing;
 * the other kernels absent from wasm (complex/FFT, ragged, depthwise-conv backprop, UnsortedSegmentSum,
 * Einsum) are not used by the models in ml/model.ts. BatchMatMul and _FusedMatMul exist but are ~13× slower
 * with a transposed operand, the layout of every dense gradient; transposed-matmul.ts replaces them. Transpose
 * (and Sum over outer axes, which transposes first) is slow on matrices whose row count is a multiple of 64, such as
 * a batch of 256: blocked-transpose.ts replaces them.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';
import { blockedTransposeWasmConfigs } from './blocked-transpose.ts';
import { conv2dBackpropFilterWasmConfig } from './conv2d-backprop-filter.ts';
import { transposedMatMulWasmConfigs } from './transposed-matmul.ts';

/** Kernels wasm does not ship: registered only while absent (a later tfjs-backend-wasm may ship its own). */
const MISSING_WASM_KERNELS = [conv2dBackpropFilterWasmConfig];

let replaced = false;

/** Puts `config` in place of whatever is registered under its name and backend (tfjs refuses a plain re-register). */
export function replaceKernel(config: KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName) !== undefined) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}

/**
 * Registers each missing kernel once and replaces the slow ones once. Returns the names this call
 * registered or replaced (none on a second call).
 */
export function registerWasmTrainingKernels(): string[] {
  const added: string[] = [];
  for (const config of MISSING_WASM_KERNELS) {
    if (tf.getKernel(config.kernelName, config.backendName) !== undefined) continue;
    tf.registerKernel(config);
    added.push(config.kernelName);
  }
  if (!replaced) {
    for (const config of [...transposedMatMulWasmConfigs(), ...blockedTransposeWasmConfigs()]) {
      replaceKernel(config);
      added.push(config.kernelName);
    }
    replaced = true;
  }
  return added;
}
