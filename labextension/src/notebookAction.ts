/**
 * The notebook toolbar's logic, kept apart from JupyterLab so jest can test it: what the
 * server extension says of a notebook (`jupyter-ext/notebook-action`), the label of the
 * button, parameter fields read back into values (only changed ones are sent as overrides),
 * and a proposed project.yaml entry edited as text fields.
 */
import type { IJobRequest, IJobRequestCreate } from './types';

/** A default of the notebook's `parameters` cell (kind: bool, int, float, str, list, dict, any). */
export interface INotebookParameter {
  name: string;
  default: unknown;
  kind: string;
}

/** An action of project.yaml that runs the notebook. */
export interface INotebookActionEntry {
  name: string;
  run: string;
  needs: string[];
  config: Record<string, unknown>;
  outputs: Record<string, Record<string, string>>;
}

/** What adding an entry would do to project.yaml (or did). */
export interface IProjectChange {
  diff: string | null;
  valid: boolean;
  problems: string[];
  warnings: string[];
}

export interface IProposal extends IProjectChange {
  name: string;
  run: string;
  needs: string[];
  outputs: Record<string, Record<string, string>>;
  notes: string[];
}

/** `GET jupyter-ext/notebook-action?path=`. */
export interface INotebookActionInfo {
  path: string;
  is_action: boolean;
  actions: INotebookActionEntry[];
  parameters: INotebookParameter[];
  has_parameters_cell: boolean;
  problems: { message: string; line: number | null }[];
  proposal: IProposal | null;
}

/** `POST jupyter-ext/notebook-action`'s body. */
export interface IAddAction {
  path: string;
  name: string;
  needs: string[];
  outputs: Record<string, Record<string, string>>;
  dry_run?: boolean;
}

export interface IAddedAction extends IProjectChange {
  name: string;
  file: string;
  written: boolean;
}

/** `POST jupyter-ext/git/commit-push`'s answer. */
export interface ICommitPush {
  branch: string;
  commit: string;
  committed: boolean;
  pushed: boolean;
  paths: string[];
}

/** A job request made with a notebook's parameter overrides, and its answer's warnings. */
export interface IParameterisedRequest extends IJobRequestCreate {
  parameters: Record<string, Record<string, unknown>>;
}

export interface IRequestWithWarnings extends IJobRequest {
  warnings?: string[];
  parameters?: Record<string, Record<string, unknown>>;
}

export const RUN_LABEL = 'Run on backend';
export const ADD_LABEL = 'Add as action';
export const PRIVACY_LEVELS = ['moderately_sensitive', 'highly_sensitive', 'minimally_sensitive'];

/** The toolbar button's label: what a click does. */
export function buttonLabel(info: INotebookActionInfo | null): string {
  return info && !info.is_action ? ADD_LABEL : RUN_LABEL;
}

/** A value as a person types it: a string as it is, anything else as JSON. */
export function valueText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? null);
}

/** One field of the Run dialog: a parameter, its starting text, and where that comes from. */
export interface IParameterField {
  name: string;
  kind: string;
  text: string;
  /** What the field says unless changed: the action's config, else the notebook's default. */
  source: 'config' | 'default';
  defaultValue: unknown;
}

/** The fields for an action: each parameter, then config values the notebook does not declare. */
export function parameterFields(
  parameters: INotebookParameter[],
  config: Record<string, unknown>
): IParameterField[] {
  const fields: IParameterField[] = parameters.map(p => {
    const inConfig = Object.prototype.hasOwnProperty.call(config, p.name);
    return {
      name: p.name,
      kind: p.kind,
      text: valueText(inConfig ? config[p.name] : p.default),
      source: inConfig ? 'config' : 'default',
      defaultValue: p.default
    };
  });
  const declared = new Set(parameters.map(p => p.name));
  for (const [name, value] of Object.entries(config)) {
    if (!declared.has(name)) {
      fields.push({ name, kind: 'any', text: valueText(value), source: 'config', defaultValue: value });
    }
  }
  return fields;
}

const WORDS: Record<string, string> = {
  int: 'a whole number',
  float: 'a number',
  bool: 'true or false',
  list: 'a JSON list, e.g. [1, 2]',
  dict: 'a JSON object, e.g. {"a": 1}'
};

/** The value a field's text stands for, read as its kind; or a sentence saying what to type. */
export function parseValue(text: string, kind: string): { value?: unknown; error?: string } {
  const trimmed = text.trim();
  switch (kind) {
    case 'str':
      return { value: text };
    case 'int':
      return /^[-+]?\d+$/.test(trimmed) ? { value: Number(trimmed) } : { error: `type ${WORDS.int}` };
    case 'float': {
      const number = Number(trimmed);
      return trimmed !== '' && Number.isFinite(number) ? { value: number } : { error: `type ${WORDS.float}` };
    }
    case 'bool':
      return trimmed === 'true' || trimmed === 'false'
        ? { value: trimmed === 'true' }
        : { error: `type ${WORDS.bool}` };
    case 'list':
    case 'dict': {
      try {
        const value = JSON.parse(trimmed);
        const fits = kind === 'list' ? Array.isArray(value) : !!value && typeof value === 'object' && !Array.isArray(value);
        return fits ? { value } : { error: `type ${WORDS[kind]}` };
      } catch {
        return { error: `type ${WORDS[kind]}` };
      }
    }
    default:
      try {
        return { value: JSON.parse(trimmed) }; // any: JSON if it reads as JSON, else the text
      } catch {
        return { value: text };
      }
  }
}

/**
 * The overrides to send: only fields whose text was changed from what they started with,
 * each read as its kind; and a sentence per field that cannot be read.
 */
export function overrides(
  fields: IParameterField[],
  texts: Record<string, string>
): { values: Record<string, unknown>; errors: Record<string, string> } {
  const values: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    const text = texts[field.name];
    if (text === undefined || text === field.text) {
      continue;
    }
    const read = parseValue(text, field.kind);
    if (read.error !== undefined) {
      errors[field.name] = `${field.name}: ${read.error}`;
    } else {
      values[field.name] = read.value;
    }
  }
  return { values, errors };
}

/** The job request's body: one action, the backend, and its overrides if any. */
export function runBody(
  workspace: string,
  backend: string,
  action: string,
  values: Record<string, unknown>
): IParameterisedRequest {
  return {
    workspace,
    backend,
    actions: [action],
    force_run_dependencies: false,
    notify: true,
    parameters: Object.keys(values).length ? { [action]: values } : {}
  };
}

/** One output of the entry, as a row of fields. */
export interface IOutputRow {
  level: string;
  name: string;
  pattern: string;
}

export function outputRows(outputs: Record<string, Record<string, string>>): IOutputRow[] {
  return Object.entries(outputs).flatMap(([level, found]) =>
    Object.entries(found).map(([name, pattern]) => ({ level, name, pattern }))
  );
}

/** The fields of the Add dialog as the entry the server extension takes; or what to fix. */
export function entryBody(
  path: string,
  name: string,
  needsText: string,
  rows: IOutputRow[]
): { body?: IAddAction; error?: string } {
  const trimmed = name.trim();
  if (!trimmed) {
    return { error: 'Give the action a name.' };
  }
  const needs = needsText
    .split(/[\s,]+/)
    .map(n => n.trim())
    .filter(n => n);
  const outputs: Record<string, Record<string, string>> = {};
  for (const row of rows) {
    const outputName = row.name.trim();
    const pattern = row.pattern.trim();
    if (!outputName && !pattern) {
      continue; // an empty row is no output
    }
    if (!outputName || !pattern) {
      return { error: 'Give each output both a name and a file pattern.' };
    }
    if (outputs[row.level]?.[outputName] !== undefined) {
      return { error: `Two ${row.level} outputs are named ${outputName}: rename one.` };
    }
    outputs[row.level] = { ...(outputs[row.level] ?? {}), [outputName]: pattern };
  }
  if (!Object.keys(outputs).length) {
    return { error: 'Give at least one output: the notebook as HTML, say.' };
  }
  return { body: { path, name: trimmed, needs: [...new Set(needs)], outputs } };
}

export function commitMessage(name: string): string {
  return `Add ${name} as an action`;
}

/** What one click commits: project.yaml and the notebook. */
export function pathsToCommit(notebook: string): string[] {
  return ['project.yaml', notebook];
}

export type DiffLineKind = 'file' | 'hunk' | 'add' | 'remove' | 'context';

/** A unified diff's lines, each with its kind (for colour, and for screen readers' words). */
export function diffLines(diff: string): { kind: DiffLineKind; text: string }[] {
  return diff
    .split('\n')
    .filter((line, i, all) => line !== '' || i < all.length - 1)
    .map(text => {
      const kind: DiffLineKind =
        text.startsWith('+++') || text.startsWith('---')
          ? 'file'
          : text.startsWith('@@')
            ? 'hunk'
            : text.startsWith('+')
              ? 'add'
              : text.startsWith('-')
                ? 'remove'
                : 'context';
      return { kind, text };
    });
}

/** A short sentence of what one click did. */
export function pushedSentence(result: ICommitPush): string {
  const what = result.committed ? `Committed ${result.commit.slice(0, 7)}` : 'Nothing new to commit';
  return `${what} and pushed ${result.branch}: jobs can run it now.`;
}
