import { datasetSummaries, fileSummary, sizeText } from '../datasets';
import type { IDataset } from '../types';

const SHA = 'a'.repeat(64);

function dataset(overrides: Partial<IDataset> = {}): IDataset {
  return {
    name: 'primary-care',
    backend: 'tpp',
    description: 'GP records, 2019-2024\nOne row a patient.',
    owner: 'uni',
    status: 'active',
    created_at: '2026-01-01T10:00:00Z',
    versions: [
      {
        version: 2,
        created_at: '2026-02-01T10:00:00Z',
        manifest: {
          sha256: SHA,
          files: [
            {
              path: 'patients.csv',
              size: 1234567,
              sha256: SHA,
              rows: 20000,
              columns: [
                { name: 'age', type: 'integer' },
                { name: 'diagnosed', type: 'date' }
              ]
            },
            { path: 'README.txt', size: 12, sha256: SHA, rows: null, columns: null }
          ]
        },
        dummy: { sha256: SHA, files: [{ path: 'patients.csv', size: 100, sha256: SHA }] }
      },
      { version: 1, created_at: '2026-01-01T10:00:00Z', manifest: { sha256: SHA, files: [] } }
    ],
    ...overrides
  };
}

describe('datasets', () => {
  it('gives sizes in words', () => {
    expect(sizeText(999)).toBe('999 bytes');
    expect(sizeText(1234567)).toBe('1.2 MB');
    expect(sizeText(5e15)).toBe('5000.0 TB');
  });

  it('summarises a file: size, rows, columns with their types', () => {
    const file = dataset().versions[0].manifest.files[0];
    expect(fileSummary(file)).toEqual({
      path: 'patients.csv',
      shape: '1.2 MB · 20,000 rows',
      columns: ['age integer', 'diagnosed date']
    });
    expect(fileSummary(dataset().versions[0].manifest.files[1]).columns).toEqual([]);
  });

  it('shows the newest version, by name, saying whether there is dummy data', () => {
    const plain = dataset({ name: 'hospital', versions: [{ ...dataset().versions[1] }] });
    const [first, second] = datasetSummaries([dataset(), plain]);
    expect(first.name).toBe('hospital');
    expect(first.version).toBe('version 1');
    expect(first.hasDummy).toBe(false);
    expect(second.key).toBe('tpp/primary-care');
    expect(second.headline).toBe('GP records, 2019-2024');
    expect(second.more).toBe('One row a patient.');
    expect(second.version).toBe('version 2 · dummy data');
    expect(second.files.map(f => f.path)).toEqual(['patients.csv', 'README.txt']);
    expect(datasetSummaries([dataset({ versions: [] })])[0].version).toBe('no version');
  });
});
