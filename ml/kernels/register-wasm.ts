/**
 * Registers on the wasm backend the training kernels it lacks. Measured on tfjs-backend-wasm 4.22: of the
 * kernels a dense or CNN `fit` reaches (MatMul, BiasAdd's Sum, Relu/Step, MaxPool/MaxPoolGrad, Softmax, Log,
 * Conv2D, Conv2DBackpropInput, the SGD/Adam update ops) only Conv2DBackpropFilter is missing; the other
 * kernels absent from wasm (complex/FFT, ragged, depthwise-conv backprop, UnsortedSegmentSum, Einsum) are
 * not used by the models in ml/model.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilterWasmConfig } from './conv2d-backprop-filter.ts';

const WASM_TRAINING_KERNELS = [conv2dBackpropFilterWasmConfig];

/**
 * Registers each missing kernel once; a kernel that a later tfjs-backend-wasm ships itself is left alone.
 * Returns the names this call registered.
 */
export function registerWasmTrainingKernels(): string[] {
  const added: string[] = [];
  for (const config of WASM_TRAINING_KERNELS) {
    if (tf.getKernel(config.kernelName, config.backendName) !== undefined) continue;
    tf.registerKernel(config);
    added.push(config.kernelName);
  }
  return added;
}
