/**
 * selectBackend: explicit choices, the auto chain's fallbacks and reasons
 * (Node: hardware webgpu → wasm → cpu; a software adapter is passed over),
 * the capability probe (wasm cannot train), and WebGPU in Node through Dawn
 * on SwiftShader when Debian's chromium driver is installed.
 */
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { assertCapabilities, selectBackend } from '../../src/engine/backend';
import { UserError } from '../../src/engine/data/types';
import { installNodeWebGPU } from '../../src/cli/webgpu-node';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';

describe('selectBackend', () => {
  it('cpu: chosen, probed, able to distil and train', async () => {
    const c = await selectBackend('cpu');
    expect(c.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(c.tried).toEqual([]);
    expect(c.capabilities).toEqual({ inputGrad: true, weightGrad: true, problems: [] });
    expect(() => assertCapabilities(c, { distill: true, train: true })).not.toThrow();
  });

  it('auto in Node without a WebGPU installer takes wasm and says why', async () => {
    const c = await selectBackend('auto');
    expect(c.name).toBe('wasm');
    expect(c.tried.map((t) => t.name)).toEqual(['webgpu']);
    expect(c.tried[0].error).toMatch(/no WebGPU/i);
    expect(c.reason).toMatch(/^auto: wasm \(\w+ build, \d+ threads?\) — webgpu unavailable$/);
    await selectBackend('cpu');
  });

  it('auto skips webgpu when the installer finds no adapter, with the installer\'s reason', async () => {
    const c = await selectBackend('auto', {
      nodeWebGPU: async (reasons) => {
        reasons.push('no usable Vulkan driver');
        return null;
      },
    });
    expect(c.name).toBe('wasm');
    expect(c.tried).toEqual([{ name: 'webgpu', error: 'no usable Vulkan driver' }]);
    await selectBackend('cpu');
  });

  it('auto in Node passes over a software (SwiftShader) adapter for wasm, before initialising webgpu', async () => {
    let asked = 0;
    const c = await selectBackend('auto', {
      nodeWebGPU: async () => {
        asked++;
        return { adapterInfo: { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver' } };
      },
    });
    expect(asked).toBe(1);
    expect(c.name).toBe('wasm');
    expect(c.adapter).toBeUndefined();
    expect(c.tried).toHaveLength(1);
    expect(c.tried[0]).toMatchObject({ name: 'webgpu' });
    expect(c.tried[0].error).toMatch(/SwiftShader, a software driver on the CPU \(choose it with --backend webgpu\)/);
    expect(c.reason).toMatch(/^auto: wasm \(.*\) — WebGPU adapter is SwiftShader \(software, on the CPU\); wasm is tens of times faster there$/);
    // the webgpu backend was never initialised: no navigator.gpu was installed by this fake
    expect(tf.findBackend('webgpu')).toBeNull();
    await selectBackend('cpu');
  });

  it('an explicit backend that is unavailable throws a one-line UserError', async () => {
    await expect(selectBackend('webgl')).rejects.toThrow(UserError);
    await expect(selectBackend('webgl')).rejects.toThrow(/^backend webgl is not available \(WebGL exists only in browsers\)$/);
    await expect(selectBackend('webgpu', { nodeWebGPU: async () => null })).rejects.toThrow(/backend webgpu is not available/);
    await expect(selectBackend('tpu' as never)).rejects.toThrow(/unknown backend 'tpu'/);
  });

  it('wasm: runs with the project\'s training kernels registered, so the probe passes', async () => {
    const c = await selectBackend('wasm');
    expect(c.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(c.detail).toMatch(/build/);
    const m = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]]));
    expect(Array.from(await m.data())).toEqual([11]);
    m.dispose();
    expect(c.capabilities).toEqual({ inputGrad: true, weightGrad: true, problems: [] });
    await selectBackend('cpu'); // leave the process on cpu for what follows
  });

  it('assertCapabilities refuses, in one line, what a backend cannot do', () => {
    const choice = {
      name: 'wasm',
      reason: 'wasm: requested',
      tried: [],
      capabilities: { inputGrad: true, weightGrad: false, problems: ["Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'"] },
    };
    expect(() => assertCapabilities(choice, { distill: true })).not.toThrow();
    expect(() => assertCapabilities(choice, { train: true })).toThrow(UserError);
    expect(() => assertCapabilities(choice, { train: true })).toThrow(
      /^backend wasm cannot train networks, so it cannot evaluate \(Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'\); use --eval-models 0 or another --backend$/,
    );
  });

  it.skipIf(!existsSync(SWIFTSHADER))('webgpu in Node: Dawn on SwiftShader, adapter reported, matMul correct', async () => {
    const c = await selectBackend('webgpu', { nodeWebGPU: installNodeWebGPU });
    expect(c.name).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    expect(c.adapter?.vendor).toBeTruthy();
    // on this project's GPU-less machines Dawn falls back to the SwiftShader driver
    if (!process.env.VK_ICD_FILENAMES || process.env.VK_ICD_FILENAMES === SWIFTSHADER)
      expect(c.adapter?.architecture).toMatch(/swiftshader/i);
    expect(c.capabilities.inputGrad && c.capabilities.weightGrad).toBe(true);
    // [[1,2,3],[4,5,6]] · [[7,8],[9,10],[11,12]] = [[58,64],[139,154]] (by hand)
    const a = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const b = tf.tensor2d([[7, 8], [9, 10], [11, 12]]);
    const p = tf.matMul(a, b);
    expect(Array.from(await p.data())).toEqual([58, 64, 139, 154]);
    tf.dispose([a, b, p]);
    await selectBackend('cpu');
  });
});
