/**
 * WebGPU for Node through the `webgpu` npm package (Dawn bindings).
 *
 * On a machine with a GPU, Dawn finds the hardware Vulkan driver. On a machine
 * without one, the only Vulkan driver Dawn accepts is SwiftShader, which
 * Debian's Chromium ships (Mesa's lavapipe is rejected by Dawn); we look for it
 * ourselves when the first attempt finds no adapter. `DISTILLERY_VK_ICD` (or a
 * pre-set `VK_ICD_FILENAMES`) overrides the search.
 */
import { existsSync } from 'node:fs';

export interface NodeWebGPU {
  adapterInfo: { vendor: string; architecture: string; device: string; description: string };
  /** Which Vulkan ICD file was forced, or null when Dawn's own choice worked. */
  icd: string | null;
}

const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/usr/lib64/chromium-browser/vk_swiftshader_icd.json',
];

let cached: Promise<NodeWebGPU | null> | null = null;

/**
 * Installs `navigator.gpu` and the WebGPU globals (GPUBufferUsage…) on
 * globalThis so that @tensorflow/tfjs-backend-webgpu works in Node. Resolves to
 * null (with `reason` filled) when no adapter can be had.
 */
export function installNodeWebGPU(reasons: string[] = []): Promise<NodeWebGPU | null> {
  cached ??= install(reasons);
  return cached;
}

async function install(reasons: string[]): Promise<NodeWebGPU | null> {
  let webgpu: typeof import('webgpu');
  try {
    webgpu = await import('webgpu');
  } catch (err) {
    reasons.push(`the 'webgpu' package could not be loaded (${(err as Error).message})`);
    return null;
  }
  Object.assign(globalThis, webgpu.globals);

  const tryIcd = async (icd: string | null) => {
    if (icd) process.env.VK_ICD_FILENAMES = icd;
    const gpu = webgpu.create([]);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    return adapter ? { gpu, adapter } : null;
  };

  const override = process.env.DISTILLERY_VK_ICD ?? null;
  const candidates: (string | null)[] = override
    ? [override]
    : [null, ...SWIFTSHADER_ICDS.filter((p) => existsSync(p))];
  if (process.env.VK_ICD_FILENAMES && !override) candidates.splice(1); // user already chose a driver

  for (const icd of candidates) {
    const found = await tryIcd(icd).catch(() => null);
    if (!found) continue;
    Object.defineProperty(globalThis, 'navigator', {
      value: { ...(globalThis as { navigator?: object }).navigator, gpu: found.gpu },
      configurable: true,
      writable: true,
    });
    const info = found.adapter.info;
    return {
      adapterInfo: {
        vendor: info.vendor,
        architecture: info.architecture,
        device: info.device,
        description: info.description,
      },
      icd,
    };
  }
  reasons.push(
    candidates.length <= 1 && !override
      ? 'no WebGPU adapter: no usable Vulkan driver (install a GPU driver, or Debian\'s chromium for its SwiftShader driver, and libvulkan1)'
      : 'no WebGPU adapter from any Vulkan driver tried',
  );
  return null;
}
