/**
 * The datasets a workspace's project may use, as the panel shows them: pure
 * functions of the job server's answer (`GET api/datasets?project=`), tested in node.
 */
import type { IDataset, IManifestFile } from './types';

/** One file of a dataset's newest version, in words. */
export interface IFileSummary {
  path: string;
  /** "12.3 MB · 1,000 rows" */
  shape: string;
  /** Each column as "name type". */
  columns: string[];
}

export interface IDatasetSummary {
  key: string;
  name: string;
  backend: string;
  owner: string;
  /** The description's first line; the rest in `more`. */
  headline: string;
  more: string;
  /** "version 2 of 2 · dummy data" */
  version: string;
  files: IFileSummary[];
  hasDummy: boolean;
}

export function sizeText(size: number): string {
  if (size < 1000) {
    return `${size} bytes`;
  }
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = size;
  let unit = '';
  for (unit of units) {
    value /= 1000;
    if (value < 1000) {
      break;
    }
  }
  return `${value.toFixed(1)} ${unit}`;
}

export function fileSummary(file: IManifestFile): IFileSummary {
  const parts = [sizeText(file.size)];
  if (file.rows !== null && file.rows !== undefined) {
    parts.push(`${file.rows.toLocaleString('en')} rows`);
  }
  return {
    path: file.path,
    shape: parts.join(' · '),
    columns: (file.columns ?? []).map(c => `${c.name} ${c.type}`)
  };
}

/** The datasets by name (then backend), each with its newest version's manifest. */
export function datasetSummaries(datasets: IDataset[]): IDatasetSummary[] {
  return [...datasets]
    .sort((a, b) => a.name.localeCompare(b.name) || a.backend.localeCompare(b.backend))
    .map(d => {
      const [headline, ...rest] = d.description.split('\n');
      const latest = d.versions[0];
      const hasDummy = d.versions.some(v => (v.dummy?.files.length ?? 0) > 0);
      const version = latest
        ? `version ${latest.version}${hasDummy ? ' · dummy data' : ''}`
        : 'no version';
      return {
        key: `${d.backend}/${d.name}`,
        name: d.name,
        backend: d.backend,
        owner: d.owner,
        headline,
        more: rest.join('\n').trim(),
        version,
        files: (latest?.manifest.files ?? []).map(fileSummary),
        hasDummy
      };
    });
}
