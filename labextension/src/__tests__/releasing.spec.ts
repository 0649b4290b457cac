import {
  checkSummary,
  currentFiles,
  findingLabel,
  followsRelease,
  formProblems,
  mayReview,
  myReview,
  placeRelease,
  releasable,
  releaseBody,
  releaseName,
  releaseNotices,
  replaceRelease,
  tableShape,
  toReview,
  waitingFiles
} from '../releasing';
import type { IFinding, IOutput, IRelease, IReleaseFile } from '../types';

const SMALL: IFinding = {
  rule: 'small_number',
  verdict: 'flag',
  message: "1 count from 1 to 10 (row 5 'with_condition')",
  cells: [[5, 'with_condition']]
};
const COLUMN: IFinding = {
  rule: 'forbidden_column',
  verdict: 'refuse',
  message: "the column 'patient_id' identifies people: drop it before release"
};

function output(path: string, privacy_level = 'moderately_sensitive'): IOutput {
  return { path, size: 10, sha256: '0'.repeat(64), privacy_level };
}

function file(id: string, overrides: Partial<IReleaseFile> = {}): IReleaseFile {
  return {
    id,
    group: 'tables',
    path: `output/${id}.csv`,
    job: 'j1',
    sha256: '0'.repeat(64),
    size: 10,
    state: 'requested',
    uploaded: false,
    reviews: [],
    comments: [],
    ...overrides
  };
}

function release(id: string, files: IReleaseFile[], overrides: Partial<IRelease> = {}): IRelease {
  return {
    id,
    workspace: 'sample',
    backend: 'tpp',
    state: 'requested',
    created_by: 'dev',
    created_at: '2026-01-01T10:00:00Z',
    published_at: null,
    files,
    ...overrides
  };
}

describe('who may review and what may be released', () => {
  it('only output checkers review', () => {
    expect(mayReview({ username: 'c', roles: ['output_checker'] })).toBe(true);
    expect(mayReview({ username: 'p', roles: ['output_publisher'] })).toBe(false);
    expect(mayReview(null)).toBe(false);
  });

  it('offers only moderately sensitive outputs', () => {
    const outputs = [output('output/t.csv'), output('output/d.csv', 'highly_sensitive')];
    expect(releasable(outputs).map(o => o.path)).toEqual(['output/t.csv']);
  });
});

describe('what the rules found', () => {
  it('says a refusal, a flag and a pass in words', () => {
    expect(checkSummary([]).text).toBe('Passes the rules');
    expect(checkSummary([SMALL])).toEqual({
      refusals: 0,
      flags: 1,
      text: 'Flagged: 1 finding for the checkers'
    });
    expect(checkSummary([SMALL, COLUMN, COLUMN])).toEqual({
      refusals: 2,
      flags: 1,
      text: 'Refused: 2 rules not met'
    });
  });

  it('labels each finding with its verdict and rule', () => {
    expect(findingLabel(SMALL)).toBe(
      "Flagged (small numbers): 1 count from 1 to 10 (row 5 'with_condition')"
    );
    expect(findingLabel(COLUMN)).toMatch(/^Refused \(column\): the column 'patient_id'/);
    const unknown: IFinding = { rule: 'new_rule', verdict: 'flag', message: 'm' };
    expect(findingLabel(unknown)).toBe('Flagged (new_rule): m');
  });

  it("shows a table's shape, never its values", () => {
    const shape = tableShape({ rows: 7, columns: ['region', 'population'] });
    expect(shape).toBe('7 rows · region, population');
    expect(tableShape({ rows: 1, columns: [] })).toBe('1 row');
    expect(tableShape({ rows: null, columns: null })).toBe('');
  });
});

describe('the release request', () => {
  const form = { group: ' tables ', context: 'counts by region', disclosure: 'rounded to 5' };

  it('says what is missing before it can be sent', () => {
    expect(formProblems({ group: '', context: ' ', disclosure: '' }, [], [])).toEqual([
      'Choose the outputs to release.',
      'Name the group of files.',
      'Say what the files show (context).'
    ]);
    expect(formProblems(form, ['output/t.csv'], [undefined])).toEqual([]);
  });

  it('asks how small numbers were handled for a table or a flagged file only', () => {
    const bare = { ...form, disclosure: ' ' };
    const statement = 'Say how small numbers were handled (disclosure control).';
    expect(formProblems(bare, ['output/t.tsv'], [undefined])).toEqual([statement]);
    expect(formProblems(bare, ['output/plot.png'], [undefined])).toEqual([]);
    const flagged = { path: 'output/plot.png', findings: [SMALL] };
    expect(formProblems(bare, ['output/plot.png'], [flagged])).toEqual([statement]);
  });

  it('cannot be sent with a file the rules refuse; a flag lets it go to the checkers', () => {
    const flagged = { path: 'output/t.csv', findings: [SMALL] };
    const refused = { path: 'output/p.csv', findings: [COLUMN] };
    expect(formProblems(form, ['output/t.csv'], [flagged])).toEqual([]);
    expect(formProblems(form, ['output/p.csv', 'output/t.csv'], [refused, flagged])).toEqual([
      'output/p.csv is refused by the rules: fix it and run its action again.'
    ]);
  });

  it('is one group of the job\'s chosen outputs, trimmed', () => {
    expect(releaseBody('sample', 'tpp', 'j1', ['output/t.csv'], form)).toEqual({
      workspace: 'sample',
      backend: 'tpp',
      groups: {
        tables: {
          context: 'counts by region',
          disclosure_control: 'rounded to 5',
          files: [{ job: 'j1', path: 'output/t.csv' }]
        }
      }
    });
  });
});

describe('the review', () => {
  const vote = (reviewer: string) => ({ reviewer, decision: 'approve' as const, comment: '' });

  it('waits for a checker on open files they have not voted on, never in their own request', () => {
    const r = release('r1', [
      file('a'),
      file('b', { state: 'in_review', reviews: [vote('checker1')] }),
      file('c', { state: 'in_review' }), // another checker voted: hidden from this one
      file('d', { state: 'approved', reviews: [vote('x'), vote('y')] }),
      file('e', { state: 'superseded' })
    ]);
    expect(waitingFiles(r, 'checker1').map(f => f.id)).toEqual(['a', 'c']);
    expect(waitingFiles(r, 'checker2').map(f => f.id)).toEqual(['a', 'b', 'c']);
    expect(waitingFiles(r, 'dev')).toEqual([]); // the author
    expect(myReview(r.files[1], 'checker1')?.decision).toBe('approve');
  });

  it('lists the releases with a file waiting, oldest first', () => {
    const done = release('r0', [file('a', { state: 'in_review', reviews: [vote('checker1')] })]);
    const newer = release('r2', [file('b')]);
    const older = release('r1', [file('c')]);
    const own = release('r3', [file('d')], { created_by: 'checker1' });
    expect(toReview([newer, done, own, older], 'checker1').map(r => r.id)).toEqual(['r1', 'r2']);
  });

  it('shows the files asked for now and replaces a release in place', () => {
    const r = release('r1', [
      file('a', { state: 'superseded' }),
      file('b'),
      file('c', { deleted: true })
    ]);
    expect(currentFiles(r).map(f => f.id)).toEqual(['b']);
    const updated = { ...r, state: 'released' };
    const list = replaceRelease([release('r0', []), r, release('r2', [])], updated);
    expect(list.map(x => [x.id, x.state])).toEqual([
      ['r0', 'requested'],
      ['r1', 'released'],
      ['r2', 'requested']
    ]);
  });
});

describe('following releases live', () => {
  const dev = { username: 'dev', roles: [] };
  const checker = { username: 'checker1', roles: ['output_checker'] };
  const vote = (reviewer: string, decision: 'approve' | 'request_changes' = 'approve') => ({
    reviewer,
    decision,
    comment: ''
  });
  const groups = { tables: { context: 'c', disclosure_control: 'd' } };

  it('reads again a release of the workspace, and for a checker one that may wait for them', () => {
    const event = (workspace: string, state = 'requested') => ({ id: 'r9', workspace, state });
    expect(followsRelease(event('sample', 'released'), 'sample', false, [])).toBe(true);
    expect(followsRelease(event('other'), 'sample', false, [])).toBe(false);
    expect(followsRelease(event('other'), 'sample', true, [])).toBe(true);
    expect(followsRelease(event('other', 'released'), 'sample', true, [])).toBe(false);
    const held = [release('r9', [file('a')], { workspace: 'other' })];
    expect(followsRelease(event('other', 'withdrawn'), 'sample', true, held)).toBe(true);
    expect(followsRelease({} as any, 'sample', true, [])).toBe(false);
  });

  it('puts a release in its place, adds a new one in order and takes out one that left', () => {
    const list = [release('r3', []), release('r1', [])]; // newest first
    const r1 = release('r1', [], { state: 'released' });
    expect(placeRelease(list, r1, true, 'newest')).toEqual([list[0], r1]);
    expect(placeRelease(list, release('r2', []), true, 'newest').map(r => r.id)).toEqual([
      'r3',
      'r2',
      'r1'
    ]);
    expect(placeRelease([...list].reverse(), release('r2', []), true, 'oldest').map(r => r.id)).toEqual([
      'r1',
      'r2',
      'r3'
    ]);
    expect(placeRelease(list, r1, false, 'newest').map(r => r.id)).toEqual(['r3']);
    expect(placeRelease(list, release('r7', []), false, 'newest')).toBe(list); // nothing changed
  });

  it('names a release by its groups and the end of its id', () => {
    const r = release('01JABCDEFGHJKMNPQRSTVWXYZ0', [], { groups });
    expect(releaseName(r)).toBe('“tables” (STVWXYZ0)');
    expect(releaseName(release('01JABCDEFGHJKMNPQRSTVWXYZ0', []))).toBe('STVWXYZ0');
  });

  it('tells the author when their release is released or withdrawn', () => {
    const before = release('r1', [file('a', { state: 'approved' })], { groups });
    const released = { ...before, state: 'released', files: [file('a', { state: 'released' })] };
    expect(releaseNotices(before, released, dev)).toEqual([
      { kind: 'released', release: 'r1', level: 'success', message: 'Your release “tables” (r1) was released' }
    ]);
    const withdrawn = { ...before, state: 'withdrawn', files: [file('a', { state: 'withdrawn' })] };
    expect(releaseNotices(before, withdrawn, dev).map(n => [n.kind, n.message])).toEqual([
      ['withdrawn', 'Your release “tables” (r1) was withdrawn']
    ]);
    expect(releaseNotices(released, released, dev)).toEqual([]); // no change, no word
    expect(releaseNotices(before, released, { username: 'other', roles: [] })).toEqual([]);
    expect(releaseNotices(undefined, released, dev)).toEqual([]); // nothing held to compare with
  });

  it('tells the author once when files get changes requested, not at each vote', () => {
    const before = release('r1', [file('a'), file('b')]);
    const oneVote = release('r1', [
      file('a', { state: 'in_review', reviews: [vote('checker1', 'request_changes')] }),
      file('b')
    ]);
    expect(releaseNotices(before, oneVote, dev)).toEqual([]);
    const settled = release('r1', [file('a', { state: 'changes_requested' }), file('b', { state: 'changes_requested' })]);
    expect(releaseNotices(oneVote, settled, dev)).toEqual([
      {
        kind: 'changes_requested',
        release: 'r1',
        level: 'warning',
        message: 'Changes requested to output/a.csv, output/b.csv in your release r1'
      }
    ]);
    const comment = release('r1', settled.files.map(f => ({ ...f, comments: [{ author: 'dev', text: 'ok', created_at: '' }] })));
    expect(releaseNotices(settled, comment, dev)).toEqual([]);
  });

  it('tells a checker when a release comes to wait for their vote, once', () => {
    const fresh = release('r1', [file('a')], { workspace: 'other' });
    expect(releaseNotices(undefined, fresh, checker)).toEqual([
      {
        kind: 'to_review',
        release: 'r1',
        level: 'info',
        message: 'Release r1 of other by dev waits for your review (1 file)'
      }
    ]);
    const otherVoted = release('r1', [file('a', { state: 'in_review' })], { workspace: 'other' });
    expect(releaseNotices(fresh, otherVoted, checker)).toEqual([]); // another's vote: nothing new
    const voted = release('r1', [file('a', { state: 'in_review', reviews: [vote('checker1')] })]);
    expect(releaseNotices(otherVoted, voted, checker)).toEqual([]);
    // the author answers with a new version: it waits for this checker again
    const replaced = release('r1', [
      file('a', { state: 'superseded', reviews: [vote('checker1')] }),
      file('a2', { version: 2 })
    ]);
    expect(releaseNotices(voted, replaced, checker).map(n => n.kind)).toEqual(['to_review']);
    expect(releaseNotices(undefined, fresh, dev)).toEqual([]); // not a checker (and the author)
    const own = release('r2', [file('a')], { created_by: 'checker1' });
    expect(releaseNotices(undefined, own, checker)).toEqual([]);
    const notOpen = release('r3', [file('a')], { state: 'withdrawn' });
    expect(releaseNotices(undefined, notOpen, checker)).toEqual([]);
  });
});
