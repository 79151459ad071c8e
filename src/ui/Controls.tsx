/**
 * The controls panel: dataset (builtin, catalog, file, folder, drag-and-drop),
 * classes, the distillation and CMI settings, presets and the cost estimate.
 */
import { useEffect, useRef, type DragEvent } from 'react';
import { CATALOG } from '../engine/data/catalog';
import { PAPER_CONFIG } from '../engine/config';
import { Field, NumberInput } from './fields';
import { LAMBDA_STEPS, lambdaFromPosition, positionFromLambda } from './lambdaScale';
import { BACKENDS, PAPER_SETTINGS, QUICK_SETTINGS, type Settings } from './settings';
import { applyPreset, chooseDataset, initBackend, openFiles, probeSpeed, setLambda, setLrImg, setSpace } from './session';
import { editSettings, useApp } from './store';
import { Estimate } from './Estimate';
import { drawPixels } from './draw';

const P = PAPER_CONFIG;

export function Controls() {
  const settings = useApp((s) => s.settings);
  const state = useApp((s) => s.state);
  const busy = state === 'starting' || state === 'running' || state === 'paused' || state === 'stopping';
  const c = settings.config;
  const num = (edit: (s: Settings, v: number) => void) => (v: number | null) => editSettings((s) => edit(s, v ?? Number.NaN));

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    if (busy) return;
    void filesFromDrop(e.dataTransfer).then((files) => openFiles(files));
  };

  // re-measure the device's speed when the network changes (debounced)
  const w = c.net.width;
  const d = c.net.depth;
  useEffect(() => {
    const t = setTimeout(() => void probeSpeed(), 600);
    return () => clearTimeout(t);
  }, [w, d]);

  return (
    <section className="controls" aria-label="Settings" onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
      <div className="presets">
        <button type="button" disabled={busy} onClick={() => applyPreset(QUICK_SETTINGS)} title="Quick: a small network, 200 iterations, 1 teacher × 5 epochs — fits a laptop in minutes">
          Quick preset
        </button>
        <button type="button" disabled={busy} onClick={() => applyPreset(PAPER_SETTINGS)} title="Paper: the protocol of protocol.md (ConvNet-3 width 128, 20 000 iterations, batch 256, 5 × 1000-epoch evaluations) — hours to days in a browser">
          Paper preset
        </button>
      </div>
      <p className="hint">Quick fits a laptop in minutes; Paper follows the published protocol and takes hours.</p>

      <fieldset disabled={busy}>
        <legend>Data</legend>
        <DatasetField />
        <ClassesField />
        <Field k="realPerClass" label="Real images per class" title="Cap on real training images per class (seeded sample); empty = all. Paper: all">
          {(id, invalid) => <NumberInput id={id} value={c.realPerClass} allowEmpty placeholder="all" invalid={invalid} onValue={(v) => editSettings((s) => void (s.config.realPerClass = v))} />}
        </Field>
      </fieldset>

      <fieldset>
        <legend>Distillation</legend>
        <Field k="method" label="Method" title="Distillation method: DM (distribution matching). Paper: dm">
          {(id) => (
            <select id={id} value={c.method} disabled={busy} onChange={(e) => editSettings((s) => void (s.config.method = e.target.value))}>
              <option value="dm">DM — distribution matching</option>
            </select>
          )}
        </Field>
        <Field k="ipc" label="Images per class (IPC)" title={`Synthetic images per class. Paper: ${P.ipc} (also 1 and 50)`}>
          {(id, invalid) => <NumberInput id={id} value={c.ipc} min={1} invalid={invalid} onValue={num((s, v) => (s.config.ipc = v))} />}
        </Field>
        <Field k="iterations" label="Iterations" title={`Optimisation steps of the synthetic images. Paper: ${P.iterations}`}>
          {(id, invalid) => <NumberInput id={id} value={c.iterations} min={0} invalid={invalid} onValue={num((s, v) => (s.config.iterations = v))} />}
        </Field>
        <Field k="lrImg" label="Image learning rate" title={`SGD learning rate of the synthetic images (momentum ${P.momentumImg}); may change during a run. Paper (DM): ${P.lrImg}`}>
          {(id, invalid) => <NumberInput id={id} value={c.lrImg} step="any" invalid={invalid} onValue={(v) => setLrImg(v ?? Number.NaN)} />}
        </Field>
        <Field k="batchReal" label="Real batch size" title={`Real images per class drawn each iteration. Paper: ${P.batchReal}`}>
          {(id, invalid) => <NumberInput id={id} value={c.batchReal} min={1} invalid={invalid} onValue={num((s, v) => (s.config.batchReal = v))} />}
        </Field>
        <Field k="init" label="Initialisation" title="Start from random real images of each class, or from Gaussian noise. Paper: real">
          {(id) => (
            <select id={id} value={c.init} disabled={busy} onChange={(e) => editSettings((s) => void (s.config.init = e.target.value as 'real' | 'noise'))}>
              <option value="real">real images</option>
              <option value="noise">noise</option>
            </select>
          )}
        </Field>
        <Field k="dsa" label="Augmentation (DSA)" title="Differentiable siamese augmentation (color, crop, cutout, flip, scale, rotate). Paper: on">
          {(id) => <input id={id} type="checkbox" checked={c.dsa} disabled={busy} onChange={(e) => editSettings((s) => void (s.config.dsa = e.target.checked))} />}
        </Field>
      </fieldset>

      <fieldset>
        <legend>CMI term</legend>
        <LambdaField />
        <Field k="space" label="CMI space" title="What the teacher gives CMI: 'feature' = its embedding (as the paper), 'logit' = its class logits; may change during a run. Paper: feature">
          {(id) => (
            <select id={id} value={settings.cmi.space} onChange={(e) => setSpace(e.target.value as 'feature' | 'logit')}>
              <option value="feature">feature</option>
              <option value="logit">logit</option>
            </select>
          )}
        </Field>
        <Field k="teachers" label="Teachers" title="Pre-trained teacher networks in the CMI pool (one picked at random each iteration); 0 with λ = 0 turns CMI off. Cached in this browser. Paper: 1">
          {(id, invalid) => <NumberInput id={id} value={settings.cmi.teachers} min={0} invalid={invalid} onValue={num((s, v) => (s.cmi.teachers = v))} />}
        </Field>
        <Field k="teacherEpochs" label="Teacher epochs" title="Training epochs per teacher on the real images (SGD lr 0.01, momentum 0.9). Paper: 40">
          {(id, invalid) => <NumberInput id={id} value={settings.cmi.teacherEpochs} min={1} invalid={invalid} onValue={num((s, v) => (s.cmi.teacherEpochs = v))} />}
        </Field>
      </fieldset>

      <fieldset disabled={busy}>
        <legend>Evaluation and network</legend>
        <Field k="evalEvery" label="Evaluate every" title={`Evaluate the synthetic set every N iterations (0 = only at the end). Paper: ${P.evalEvery}`}>
          {(id, invalid) => <NumberInput id={id} value={c.evalEvery} min={0} invalid={invalid} onValue={num((s, v) => (s.config.evalEvery = v))} />}
        </Field>
        <Field k="evalModels" label="Evaluation models" title={`Networks trained from scratch on the synthetic set at each evaluation (0 = no evaluation). Paper: ${P.evalModels}`}>
          {(id, invalid) => <NumberInput id={id} value={c.evalModels} min={0} invalid={invalid} onValue={num((s, v) => (s.config.evalModels = v))} />}
        </Field>
        <Field k="evalEpochs" label="Evaluation epochs" title={`Training epochs of each evaluation network. Paper: ${P.evalEpochs}`}>
          {(id, invalid) => <NumberInput id={id} value={c.evalEpochs} min={1} invalid={invalid} onValue={num((s, v) => (s.config.evalEpochs = v))} />}
        </Field>
        <Field k="width" label="Network width" title={`Channels of each ConvNet conv layer. Paper: ${P.net.width}`}>
          {(id, invalid) => <NumberInput id={id} value={c.net.width} min={1} invalid={invalid} onValue={num((s, v) => (s.config.net.width = v))} />}
        </Field>
        <Field k="depth" label="Network depth" title={`Conv blocks of the ConvNet (1–6). Paper: ${P.net.depth}`}>
          {(id, invalid) => <NumberInput id={id} value={c.net.depth} min={1} invalid={invalid} onValue={num((s, v) => (s.config.net.depth = v))} />}
        </Field>
        <Field k="seed" label="Seed" title={`Seed of every random choice: the same seed reproduces a run on the same backend. Paper: ${P.seed}`}>
          {(id, invalid) => <NumberInput id={id} value={c.seed} min={0} invalid={invalid} onValue={num((s, v) => (s.config.seed = v))} />}
        </Field>
        <Field k="backend" label="Backend" title="tfjs backend: auto tries webgpu, then webgl, wasm, cpu. Paper: auto (a GPU)">
          {(id) => (
            <select
              id={id}
              value={c.backend}
              onChange={(e) => {
                const b = e.target.value as Settings['config']['backend'];
                editSettings((s) => void (s.config.backend = b));
                void initBackend(b).then(() => probeSpeed());
              }}
            >
              {BACKENDS.map((b) => (
                <option key={b} value={b}>
                  {b}
                </option>
              ))}
            </select>
          )}
        </Field>
      </fieldset>
      <Estimate />
    </section>
  );
}

function DatasetField() {
  const dataset = useApp((s) => s.settings.config.dataset);
  const info = useApp((s) => s.dataset);
  const loading = useApp((s) => s.datasetLoading);
  const fileRef = useRef<HTMLInputElement>(null);
  const dirRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    // React does not know the attribute; set it on the element
    dirRef.current?.setAttribute('webkitdirectory', '');
  }, []);
  const fileEntry = dataset.startsWith('file:') ? dataset : null;
  return (
    <Field k="dataset" label="Dataset" title="Builtin (generated offline, 10 classes, 32×32), a standard dataset downloaded through this server, or your own archive / folder (drop it on this panel). Paper: CIFAR-10">
      {(id) => (
        <div className="dataset">
          <select
            id={id}
            value={dataset}
            disabled={loading}
            onChange={(e) => {
              const v = e.target.value;
              void chooseDataset(v === 'builtin' ? { kind: 'builtin' } : { kind: 'catalog', id: v });
            }}
          >
            {CATALOG.map((e) => (
              <option key={e.id} value={e.id} title={e.description}>
                {e.id === 'builtin' ? 'builtin (offline)' : `${e.title}`}
              </option>
            ))}
            {!CATALOG.some((e) => e.id === 'builtin') && <option value="builtin">builtin (offline)</option>}
            {fileEntry && <option value={fileEntry}>{info?.name ?? fileEntry.slice(5)}</option>}
          </select>
          <label className="button" title="Open a dataset archive (.zip, .tar.gz: CIFAR binary, MNIST idx, or class folders of images)">
            Open file…
            <input ref={fileRef} type="file" hidden accept=".zip,.tar,.gz,.tgz,.tar.gz,.bin,.ubyte" onChange={(e) => void openFiles([...(e.target.files ?? [])])} />
          </label>
          <label className="button" title="Open a folder of class folders of images (ImageFolder layout)">
            Open folder…
            <input ref={dirRef} type="file" hidden multiple onChange={(e) => void openFiles([...(e.target.files ?? [])])} />
          </label>
          {info && (
            <span className="hint">
              {info.name}: {info.classNames.length} classes, {info.height}×{info.width}×{info.channels}, {info.trainPerClass.reduce((a, b) => a + b, 0)} train / {info.testCount} test
            </span>
          )}
        </div>
      )}
    </Field>
  );
}

function ClassesField() {
  const info = useApp((s) => s.dataset);
  const classes = useApp((s) => s.settings.config.classes);
  if (!info) return null;
  const chosen = new Set(classes ?? info.classNames.map((_, k) => k));
  const toggle = (k: number, on: boolean) =>
    editSettings((s) => {
      const next = new Set(s.config.classes ?? info.classNames.map((_, i) => i));
      if (on) next.add(k);
      else next.delete(k);
      const list = [...next].sort((a, b) => a - b);
      s.config.classes = list.length === info.classNames.length ? null : list;
    });
  return (
    <Field k="classes" label="Classes" title="Which classes of the dataset to distil (a sample image each). Paper: all">
      {(id) => (
        <div className="classes" id={id} role="group" aria-label="Classes">
          <div className="class-buttons">
            <button type="button" onClick={() => editSettings((s) => void (s.config.classes = null))}>
              All
            </button>
            <button type="button" onClick={() => editSettings((s) => void (s.config.classes = []))}>
              None
            </button>
          </div>
          <div className="class-list">
            {info.classNames.map((name, k) => (
              <label key={k} className="class-choice" title={`class ${k}: ${name} (${info.trainPerClass[k]} training images)`}>
                <input type="checkbox" checked={chosen.has(k)} onChange={(e) => toggle(k, e.target.checked)} />
                <Thumb pixels={info.thumbnails} index={k} h={info.height} w={info.width} c={info.channels} />
                <span>{name}</span>
              </label>
            ))}
          </div>
        </div>
      )}
    </Field>
  );
}

function Thumb({ pixels, index, h, w, c }: { pixels: Uint8Array; index: number; h: number; w: number; c: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (ref.current) drawPixels(ref.current, pixels, index, h, w, c);
  }, [pixels, index, h, w, c]);
  return <canvas ref={ref} width={w} height={h} className="thumb" aria-hidden />;
}

function LambdaField() {
  const weight = useApp((s) => s.settings.cmi.weight);
  return (
    <Field k="lambda" label="λ (CMI weight)" title="Weight λ of the CMI term (L = L_DM + λ·CMI); log slider, far left = 0 (CMI only measured). May change during a run. Paper (DM, CIFAR-10, IPC 10): 8000">
      {(id, invalid) => (
        <div className="lambda">
          <input
            type="range"
            aria-label="λ slider"
            min={0}
            max={LAMBDA_STEPS}
            step={1}
            value={positionFromLambda(weight)}
            onChange={(e) => setLambda(lambdaFromPosition(Number(e.target.value)))}
          />
          <NumberInput id={id} value={weight} step="any" min={0} invalid={invalid} onValue={(v) => setLambda(v ?? Number.NaN)} />
        </div>
      )}
    </Field>
  );
}

/** Files of a drop: plain files, or every file of a dropped folder (with relative paths). */
async function filesFromDrop(dt: DataTransfer): Promise<File[]> {
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  if (!entries.some((e) => e.isDirectory)) return [...dt.files];
  const out: File[] = [];
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    if (entry.isFile) {
      const f = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
      out.push(new File([f], f.name, { type: f.type }));
      Object.defineProperty(out[out.length - 1], 'webkitRelativePath', { value: prefix + f.name });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (batch.length === 0) break;
        for (const e of batch) await walk(e, `${prefix}${entry.name}/`);
      }
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}
