/**
 * `distillery datasets`: the built-in dataset and the catalog (standard
 * datasets downloaded on first use), with class count, image size, split
 * sizes and whether the files are already in the local cache; then how to
 * pass one's own data. `--json` prints the same as JSON.
 */
import { CATALOG, type CatalogEntry } from '../engine/data/catalog';
import { parseFlags } from './args';
import { catalogDir, datasetCacheDir, isCachedAndValid } from './download';
import { EXIT_OK } from './errors';

const FLAGS = [
  { name: 'json', kind: 'boolean' as const, help: 'print JSON' },
  { name: 'verbose', kind: 'boolean' as const, help: '' },
  { name: 'help', kind: 'boolean' as const, help: '' },
];

const HELP = `Usage: distillery datasets [--json]

Lists the datasets --dataset accepts by name, and where downloads are cached
($DISTILLERY_CACHE, default ~/.cache/distillery).`;

async function cacheState(e: CatalogEntry): Promise<'generated' | 'cached' | 'partial' | 'not downloaded'> {
  if (e.format === 'builtin') return 'generated';
  const ok = await Promise.all(e.files.map((f) => isCachedAndValid(e, f).catch(() => false)));
  return ok.every(Boolean) ? 'cached' : ok.some(Boolean) ? 'partial' : 'not downloaded';
}

function downloadSize(e: CatalogEntry): string {
  const bytes = e.files.reduce((a, f) => a + (f.bytes ?? 0), 0);
  if (e.files.length === 0) return '-';
  if (bytes === 0) return '?';
  return `${Math.round(bytes / 1e6)} MB`;
}

export async function datasetsCommand(argv: string[]): Promise<number> {
  const v = parseFlags(argv, FLAGS, 'datasets');
  if (v.help) {
    console.log(HELP);
    return EXIT_OK;
  }
  const rows = await Promise.all(
    CATALOG.map(async (e) => ({
      id: e.id,
      title: e.title,
      classes: e.classNames.length,
      size: `${e.height}×${e.width}×${e.channels}`,
      train: e.trainCount,
      test: e.testCount,
      download: downloadSize(e),
      state: await cacheState(e),
      path: e.format === 'builtin' ? null : catalogDir(e),
    })),
  );
  if (v.json) {
    console.log(JSON.stringify({ cache: datasetCacheDir(), datasets: rows }, null, 2));
    return EXIT_OK;
  }
  const header = { id: 'id', title: 'title', classes: 'classes', size: 'size', split: 'train/test', download: 'download', state: 'local' };
  const table = [
    header,
    ...rows.map((r) => ({ ...r, classes: String(r.classes), split: `${r.train}/${r.test}` })),
  ];
  const cols = ['id', 'title', 'classes', 'size', 'split', 'download', 'state'] as const;
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(...table.map((r) => String(r[c]).length))]));
  for (const r of table) console.log(cols.map((c) => String(r[c]).padEnd(width[c])).join('  ').trimEnd());
  console.log(`
Use one with --dataset ID (catalog datasets are downloaded on first use, checked
against their published md5, and cached in ${datasetCacheDir()};
set DISTILLERY_CACHE to move the cache, or put the official files there by hand).

Or pass your own data with --dataset PATH:
  an archive          --dataset cifar-10-binary.tar.gz   (.tar.gz, .tgz, .tar, .zip, .gz)
  a folder            --dataset ./my-images              (ImageFolder: [train|test]/<class>/*.png|jpg,
                                                          or <class>/*.png|jpg, split 80/20 seeded)
  several files       --dataset a-images.gz,a-labels.gz  (comma-separated, e.g. the four MNIST IDX files)`);
  return EXIT_OK;
}
