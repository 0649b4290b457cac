import * as React from 'react';

import { errorMessage } from '../api';
import {
  commitMessage,
  diffLines,
  entryBody,
  IAddedAction,
  ICommitPush,
  IOutputRow,
  IProjectChange,
  IProposal,
  outputRows,
  pathsToCommit,
  PRIVACY_LEVELS,
  pushedSentence
} from '../notebookAction';
import { notebookApi } from '../notebookApi';
import { ErrorNote, useSubmission } from './common';

// how long typing may pause before the change to project.yaml is asked again
const PREVIEW_DELAY_MS = 300;

export interface IAddActionProps {
  path: string;
  proposal: IProposal;
  /** The entry was written: the toolbar and the Jobs panel read project.yaml again. */
  added(name: string): void;
  /** Before committing: the notebook saved, so what is committed is what is on screen. */
  beforeCommit(): Promise<void>;
  /** Committed and pushed: the panel's warnings are read again. */
  pushed(result: ICommitPush): void;
  close(): void;
}

/** The change to project.yaml as `git diff` shows it, each line marked added or removed. */
export function DiffView(props: { diff: string; label: string }): JSX.Element {
  return (
    <pre className="jp-ext-nb-diff" aria-label={props.label} tabIndex={0}>
      {diffLines(props.diff).map((line, i) => (
        <div key={i} className={`jp-ext-diff-${line.kind}`}>
          {line.text || ' '}
        </div>
      ))}
    </pre>
  );
}

/**
 * The Add as action dialog's body: the proposed entry as fields (name, needs, outputs), the
 * change it makes to project.yaml (asked again as they are edited), "Add to project.yaml", and
 * then one click that commits project.yaml and the notebook and pushes them.
 */
export function AddActionForm(props: IAddActionProps): JSX.Element {
  const { proposal } = props;
  const [name, setName] = React.useState(proposal.name);
  const [needs, setNeeds] = React.useState(proposal.needs.join(', '));
  const [rows, setRows] = React.useState<IOutputRow[]>(outputRows(proposal.outputs));
  const [preview, setPreview] = React.useState<IProjectChange>(proposal);
  const { busy, error, submit } = useSubmission();
  const [added, setAdded] = React.useState<IAddedAction | null>(null);
  const [message, setMessage] = React.useState('');
  const [pushed, setPushed] = React.useState<ICommitPush | null>(null);
  const entry = entryBody(props.path, name, needs, rows);
  const asked = React.useRef(0);
  const first = React.useRef(true);

  React.useEffect(() => {
    if (first.current) {
      first.current = false; // the proposal came with its diff
      return;
    }
    const body = entry.body;
    if (!body) {
      return;
    }
    const turn = ++asked.current;
    const timer = setTimeout(() => {
      notebookApi
        .add({ ...body, dry_run: true })
        .then(change => turn === asked.current && setPreview(change))
        .catch(e => {
          if (turn === asked.current) {
            setPreview({ diff: preview.diff, valid: false, problems: [errorMessage(e)], warnings: [] });
          }
        });
    }, PREVIEW_DELAY_MS);
    return () => clearTimeout(timer);
  }, [name, needs, rows]);

  const setRow = (i: number, change: Partial<IOutputRow>) =>
    setRows(all => all.map((row, j) => (j === i ? { ...row, ...change } : row)));

  const add = () =>
    entry.body
      ? submit(async () => {
          const done = await notebookApi.add(entry.body!);
          setAdded(done);
          setMessage(commitMessage(done.name));
          props.added(done.name);
        })
      : Promise.resolve();

  const commitAndPush = (event: React.FormEvent) => {
    event.preventDefault();
    if (!message.trim()) {
      return;
    }
    return submit(async () => {
      await props.beforeCommit();
      const result = await notebookApi.commitPush(pathsToCommit(props.path), message);
      setPushed(result);
      props.pushed(result);
    });
  };

  if (added) {
    return (
      <div className="jp-ext-nb-form">
        <p role="status">
          Added <code>{added.name}</code> to project.yaml.
        </p>
        {added.diff && <DiffView diff={added.diff} label="The change made to project.yaml" />}
        {pushed ? (
          <p role="status" className="jp-ext-nb-pushed">
            {pushedSentence(pushed)}
          </p>
        ) : (
          <form className="jp-ext-nb-commit" onSubmit={e => void commitAndPush(e)}>
            <p className="jp-ext-dim">
              Jobs run what is pushed: commit project.yaml and {props.path} and push them.
            </p>
            <div className="jp-ext-nb-field">
              <label htmlFor="jp-ext-nb-message">Commit message</label>
              <input
                id="jp-ext-nb-message"
                className="jp-mod-styled"
                type="text"
                value={message}
                onChange={e => setMessage(e.currentTarget.value)}
              />
            </div>
            <ErrorNote message={error} />
            <div className="jp-ext-nb-buttons">
              <button type="button" className="jp-mod-styled jp-mod-reject" onClick={props.close}>
                Not now
              </button>
              <button
                type="submit"
                className="jp-mod-styled jp-mod-accept jp-ext-nb-push"
                disabled={busy || !message.trim()}
              >
                {busy ? 'Committing…' : 'Commit and push'}
              </button>
            </div>
          </form>
        )}
        {pushed && (
          <div className="jp-ext-nb-buttons">
            <button type="button" className="jp-mod-styled jp-mod-accept" onClick={props.close} autoFocus>
              Close
            </button>
          </div>
        )}
      </div>
    );
  }

  const problems = entry.error ? [entry.error] : preview.problems;
  return (
    <form
      className="jp-ext-nb-form"
      aria-label="Add the notebook as an action"
      onSubmit={e => {
        e.preventDefault();
        void add();
      }}
    >
      <div className="jp-ext-nb-field">
        <label htmlFor="jp-ext-nb-name">Name</label>
        <input
          id="jp-ext-nb-name"
          className="jp-mod-styled"
          type="text"
          value={name}
          onChange={e => setName(e.currentTarget.value)}
        />
      </div>
      <div className="jp-ext-nb-field">
        <label htmlFor="jp-ext-nb-needs">Needs</label>
        <input
          id="jp-ext-nb-needs"
          className="jp-mod-styled"
          type="text"
          value={needs}
          placeholder="none"
          aria-describedby="jp-ext-nb-needs-hint"
          onChange={e => setNeeds(e.currentTarget.value)}
        />
        <span id="jp-ext-nb-needs-hint" className="jp-ext-dim">
          actions whose outputs it reads, separated by commas
        </span>
      </div>
      <fieldset className="jp-ext-nb-outputs">
        <legend>Outputs</legend>
        <table>
          <thead>
            <tr>
              <th scope="col">Privacy level</th>
              <th scope="col">Name</th>
              <th scope="col">File pattern</th>
              <th scope="col">
                <span className="jp-ext-visually-hidden">Remove</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row, i) => (
              <tr key={i}>
                <td>
                  <select
                    aria-label={`Output ${i + 1}: privacy level`}
                    value={row.level}
                    onChange={e => setRow(i, { level: e.currentTarget.value })}
                  >
                    {PRIVACY_LEVELS.map(level => (
                      <option key={level} value={level}>
                        {level}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  <input
                    className="jp-mod-styled"
                    type="text"
                    aria-label={`Output ${i + 1}: name`}
                    value={row.name}
                    onChange={e => setRow(i, { name: e.currentTarget.value })}
                  />
                </td>
                <td>
                  <input
                    className="jp-mod-styled"
                    type="text"
                    aria-label={`Output ${i + 1}: file pattern`}
                    value={row.pattern}
                    onChange={e => setRow(i, { pattern: e.currentTarget.value })}
                  />
                </td>
                <td>
                  <button
                    type="button"
                    className="jp-ext-icon-button"
                    aria-label={`Remove output ${row.name || i + 1}`}
                    title="Remove"
                    onClick={() => setRows(all => all.filter((_, j) => j !== i))}
                  >
                    ✕
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <button
          type="button"
          className="jp-mod-styled"
          onClick={() => setRows(all => [...all, { level: 'moderately_sensitive', name: '', pattern: '' }])}
        >
          Add an output
        </button>
      </fieldset>
      {proposal.notes.length ? (
        <ul className="jp-ext-nb-notes" aria-label="What was found in the notebook">
          {proposal.notes.map(n => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      ) : null}
      <h3 className="jp-ext-nb-subheading">The change to project.yaml</h3>
      {preview.diff ? <DiffView diff={preview.diff} label="The change to project.yaml" /> : null}
      {problems.map(p => (
        <ErrorNote key={p} message={p} />
      ))}
      <ErrorNote message={error} />
      <div className="jp-ext-nb-buttons">
        <button type="button" className="jp-mod-styled jp-mod-reject" onClick={props.close}>
          Cancel
        </button>
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept jp-ext-nb-add"
          disabled={busy || !!entry.error || !preview.valid}
        >
          {busy ? 'Adding…' : 'Add to project.yaml'}
        </button>
      </div>
    </form>
  );
}
