/**
 * `Released:` — a read-only drive of the workspace's released files, so that
 * JupyterLab's own viewers (CSV viewer, image viewer, editor) open them without
 * writing anything into the checkout (which would then have uncommitted changes).
 * Paths are `<release id>/<path of the file>`; bytes come from `jupyter-ext/files/<id>`.
 */
import { Contents, ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { api } from './api';
import { fileKind } from './model';
import type { IRelease, IReleaseFile } from './types';

export const DRIVE_NAME = 'Released';

export class ReleasedDrive implements Contents.IDrive {
  readonly name = DRIVE_NAME;
  readonly serverSettings = ServerConnection.makeSettings();
  private _fileChanged = new Signal<this, Contents.IChangedArgs>(this);
  private _disposed = false;

  constructor(private releases: () => Promise<IRelease[]>) {}

  get fileChanged(): ISignal<this, Contents.IChangedArgs> {
    return this._fileChanged;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    this._disposed = true;
    Signal.clearData(this);
  }

  async get(localPath: string, options: Contents.IFetchOptions = {}): Promise<Contents.IModel> {
    const path = localPath.replace(/^\/+|\/+$/g, '');
    const releases = await this.releases();
    if (!path) {
      return folder('', releases.map(r => folder(r.id, null, r.published_at ?? r.created_at)), '');
    }
    const [id, ...rest] = path.split('/');
    const release = releases.find(r => r.id === id);
    if (!release) {
      throw new Error(`there is no released output at ${path}`);
    }
    const inner = rest.join('/');
    const files = release.files.filter(f => f.state === 'released' && f.uploaded);
    const file = files.find(f => f.path === inner);
    if (file) {
      return this.fileModel(release, file, options);
    }
    const prefix = inner ? `${inner}/` : '';
    const below = files.filter(f => f.path.startsWith(prefix));
    if (!below.length) {
      throw new Error(`there is no released output at ${path}`);
    }
    const names = new Map<string, Contents.IModel>();
    for (const f of below) {
      const [head, ...tail] = f.path.slice(prefix.length).split('/');
      const child = `${id}/${prefix}${head}`;
      if (!names.has(head)) {
        names.set(head, tail.length ? folder(child, null, release.published_at) : fileStub(child, f, release));
      }
    }
    return folder(path, [...names.values()], release.published_at);
  }

  private async fileModel(
    release: IRelease,
    file: IReleaseFile,
    options: Contents.IFetchOptions
  ): Promise<Contents.IModel> {
    const stub = fileStub(`${release.id}/${file.path}`, file, release);
    if (options.content === false) {
      return stub;
    }
    const format = options.format ?? fileKind(file.path).format;
    const response = await api.file(file.id);
    const content =
      format === 'base64' ? toBase64(await response.arrayBuffer()) : await response.text();
    return { ...stub, content, format: format === 'json' ? 'text' : format };
  }

  async getDownloadUrl(localPath: string): Promise<string> {
    const [id, ...rest] = localPath.split('/');
    const release = (await this.releases()).find(r => r.id === id);
    const file = release?.files.find(f => f.path === rest.join('/'));
    if (!file) {
      throw new Error(`there is no released file at ${localPath}`);
    }
    return api.fileURL(file.id);
  }

  newUntitled(): Promise<Contents.IModel> {
    return readOnly();
  }
  delete(): Promise<void> {
    return readOnly();
  }
  rename(): Promise<Contents.IModel> {
    return readOnly();
  }
  save(): Promise<Contents.IModel> {
    return readOnly();
  }
  copy(): Promise<Contents.IModel> {
    return readOnly();
  }
  createCheckpoint(): Promise<Contents.ICheckpointModel> {
    return readOnly();
  }
  async listCheckpoints(): Promise<Contents.ICheckpointModel[]> {
    return [];
  }
  restoreCheckpoint(): Promise<void> {
    return readOnly();
  }
  deleteCheckpoint(): Promise<void> {
    return readOnly();
  }
}

function readOnly(): Promise<never> {
  return Promise.reject(new Error('released outputs are read-only: copy one to change it'));
}

function folder(path: string, content: Contents.IModel[] | null, when: string | null): Contents.IModel {
  return {
    name: path.split('/').pop() ?? '',
    path,
    type: 'directory',
    writable: false,
    created: when ?? '',
    last_modified: when ?? '',
    mimetype: '',
    content,
    format: content ? 'json' : null
  };
}

function fileStub(path: string, file: IReleaseFile, release: IRelease): Contents.IModel {
  const when = release.published_at ?? release.created_at;
  return {
    name: path.split('/').pop() ?? '',
    path,
    type: 'file',
    writable: false,
    created: when,
    last_modified: when,
    mimetype: fileKind(file.path).mimetype,
    content: null,
    format: null,
    size: file.size
  };
}

function toBase64(buffer: ArrayBuffer): string {
  const bytes = new Uint8Array(buffer);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
