import * as React from 'react';

import {
  INotebookActionInfo,
  IRequestWithWarnings,
  overrides,
  parameterFields,
  runBody
} from '../notebookAction';
import { notebookApi } from '../notebookApi';
import type { IBackend } from '../types';
import { ErrorNote, useSubmission } from './common';

export interface IRunNotebookProps {
  info: INotebookActionInfo;
  workspace: string;
  backends: IBackend[];
  /** The backend the Jobs panel has chosen, if any. */
  backend: string;
  /** What the Jobs panel warns of (uncommitted or unpushed changes), and unsaved edits. */
  warnings: string[];
  /** The request was made: show it in the Jobs panel. */
  submitted(request: IRequestWithWarnings): void;
  close(): void;
}

/**
 * The Run on backend dialog's body: the action, its parameters prefilled with its config or
 * the notebook's defaults (only changed ones are sent, as overrides), the backend, and the
 * checkout's warnings; once made, the request's own warnings (a parameter the notebook does
 * not declare, say).
 */
export function RunNotebookForm(props: IRunNotebookProps): JSX.Element {
  const { info } = props;
  const [actionName, setAction] = React.useState(info.actions[0]?.name ?? '');
  const action = info.actions.find(a => a.name === actionName) ?? info.actions[0];
  const fields = React.useMemo(
    () => parameterFields(info.parameters, action?.config ?? {}),
    [info, action]
  );
  const [texts, setTexts] = React.useState<Record<string, string>>({});
  const online = props.backends.find(b => b.online)?.slug;
  const [backend, setBackend] = React.useState(
    props.backends.some(b => b.slug === props.backend) ? props.backend : online ?? props.backends[0]?.slug ?? ''
  );
  const { busy, error, submit } = useSubmission();
  const [made, setMade] = React.useState<IRequestWithWarnings | null>(null);
  const read = overrides(fields, texts);
  const invalid = Object.keys(read.errors).length > 0;

  const run = (event: React.FormEvent) => {
    event.preventDefault();
    if (invalid || !backend || !action) {
      return;
    }
    return submit(async () => {
      const request = await notebookApi.run(runBody(props.workspace, backend, action.name, read.values));
      props.submitted(request);
      if (request.warnings?.length) {
        setMade(request); // said here before the dialog closes
      } else {
        props.close();
      }
    });
  };

  if (made) {
    return (
      <div className="jp-ext-nb-form">
        <p role="status">Job request made: it is shown in the Jobs panel.</p>
        <ul className="jp-ext-warnings" aria-label="Warnings of the job request">
          {made.warnings!.map(w => (
            <li key={w} className="jp-ext-warning">
              ⚠ {w}
            </li>
          ))}
        </ul>
        <div className="jp-ext-nb-buttons">
          <button type="button" className="jp-mod-styled jp-mod-accept" onClick={props.close} autoFocus>
            Close
          </button>
        </div>
      </div>
    );
  }

  return (
    <form className="jp-ext-nb-form" onSubmit={e => void run(e)} aria-label="Run the notebook on a backend">
      {info.actions.length > 1 ? (
        <div className="jp-ext-nb-field">
          <label htmlFor="jp-ext-nb-action">Action</label>
          <select id="jp-ext-nb-action" value={action?.name} onChange={e => setAction(e.currentTarget.value)}>
            {info.actions.map(a => (
              <option key={a.name} value={a.name}>
                {a.name}
              </option>
            ))}
          </select>
        </div>
      ) : (
        <p className="jp-ext-nb-action">
          Action <code>{action?.name}</code> of project.yaml
          {action?.needs.length ? <span className="jp-ext-dim"> (needs {action.needs.join(', ')})</span> : null}
        </p>
      )}
      <fieldset className="jp-ext-nb-parameters">
        <legend>Parameters</legend>
        {!fields.length && (
          <p className="jp-ext-dim">
            {info.has_parameters_cell
              ? 'Its parameters cell declares none.'
              : 'No cell is tagged parameters: the notebook runs as it is.'}
          </p>
        )}
        {fields.map(f => {
          const id = `jp-ext-nb-param-${f.name}`;
          const problem = read.errors[f.name];
          return (
            <div key={`${action?.name}-${f.name}`} className="jp-ext-nb-field">
              <label htmlFor={id}>{f.name}</label>
              <input
                id={id}
                className="jp-mod-styled"
                type="text"
                value={texts[f.name] ?? f.text}
                aria-invalid={problem ? true : undefined}
                aria-describedby={`${id}-hint`}
                onChange={e => {
                  const value = e.currentTarget.value;
                  setTexts(t => ({ ...t, [f.name]: value }));
                }}
              />
              <span id={`${id}-hint`} className={problem ? 'jp-ext-error' : 'jp-ext-dim'}>
                {problem ??
                  `${f.kind === 'any' ? '' : `${f.kind}, `}${f.source === 'config' ? 'from its config' : 'the default'}`}
              </span>
            </div>
          );
        })}
      </fieldset>
      <div className="jp-ext-nb-field">
        <label htmlFor="jp-ext-nb-backend">Backend</label>
        <select id="jp-ext-nb-backend" value={backend} onChange={e => setBackend(e.currentTarget.value)}>
          {props.backends.map(b => (
            <option key={b.slug} value={b.slug}>
              {(b.name || b.slug) + (b.online ? '' : ' (offline)')}
            </option>
          ))}
        </select>
      </div>
      {!props.backends.length && <p className="jp-ext-dim">No backend you may use.</p>}
      {props.warnings.length ? (
        <ul className="jp-ext-warnings" aria-label="Checkout warnings">
          {props.warnings.map(w => (
            <li key={w} className="jp-ext-warning">
              ⚠ {w}
            </li>
          ))}
        </ul>
      ) : null}
      <ErrorNote message={error} />
      <div className="jp-ext-nb-buttons">
        <button type="button" className="jp-mod-styled jp-mod-reject" onClick={props.close}>
          Cancel
        </button>
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept jp-ext-nb-run"
          disabled={busy || invalid || !backend || !action}
        >
          {busy ? 'Submitting…' : 'Run'}
        </button>
      </div>
    </form>
  );
}
