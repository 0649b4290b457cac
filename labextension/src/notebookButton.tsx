/**
 * A button in every notebook's toolbar: "Run on backend" when project.yaml has an action that
 * runs the notebook (a dialog for its parameters, the backend and the checkout's warnings,
 * then the request shown in the Jobs panel), else "Add as action" (the proposed entry, the
 * change to project.yaml, and one click to commit and push it).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog } from '@jupyterlab/apputils';
import { DocumentRegistry, IDocumentWidget } from '@jupyterlab/docregistry';
import { addToolbarButtonClass, ReactWidget, ToolbarButtonComponent } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { errorMessage } from './api';
import { AddActionForm } from './components/addAction';
import { RunNotebookForm } from './components/runNotebook';
import { withRequests } from './model';
import { ADD_LABEL, buttonLabel, INotebookActionInfo, IRequestWithWarnings, RUN_LABEL } from './notebookAction';
import { notebookApi } from './notebookApi';
import type { JobsStore } from './store';

const BUTTON_NAME = 'jupyter-ext-notebook-action';
const NOTHING = { isDisposed: true, dispose: () => undefined };

/** What the button needs of the rest of the extension. */
export interface INotebookButtonHost {
  app: JupyterFrontEnd;
  store: JobsStore;
  /** The Jobs panel, to reveal. */
  panel: Widget;
}

/** Add the button to every notebook opened from now on. */
export function addNotebookButtons(host: INotebookButtonHost): void {
  const extension: DocumentRegistry.IWidgetExtension<IDocumentWidget, DocumentRegistry.IModel> = {
    createNew: (widget, context) => {
      if (context.path.includes(':')) {
        return NOTHING; // a notebook of another drive (released outputs): not the workspace's
      }
      const button = new NotebookActionButton(host, context);
      if (!widget.toolbar.insertAfter('cellType', BUTTON_NAME, button)) {
        widget.toolbar.insertItem(10, BUTTON_NAME, button);
      }
      return button;
    }
  };
  host.app.docRegistry.addWidgetExtension('Notebook', extension);
}

/** The toolbar button: its label follows what project.yaml says of the notebook. */
class NotebookActionButton extends ReactWidget {
  private info: INotebookActionInfo | null = null;
  private problem = '';
  private asking = 0;
  private loaded = false; // asked once: until then the button waits, disabled

  constructor(
    private host: INotebookButtonHost,
    private context: DocumentRegistry.Context
  ) {
    super();
    addToolbarButtonClass(this);
    this.addClass('jp-ext-nb-button');
    void context.ready.then(() => this.refresh());
    context.pathChanged.connect(() => void this.refresh(), this);
    // project.yaml saved in JupyterLab: whether the notebook is an action may have changed
    host.app.serviceManager.contents.fileChanged.connect((_, change) => {
      const path = change.newValue?.path ?? change.oldValue?.path ?? '';
      if (path === 'project.yaml') {
        void this.refresh();
      }
    }, this);
  }

  /** Ask the server extension again what the notebook is. */
  async refresh(): Promise<INotebookActionInfo | null> {
    const turn = ++this.asking;
    try {
      const info = await notebookApi.info(this.context.path);
      if (turn === this.asking) {
        this.info = info;
        this.problem = '';
      }
    } catch (e) {
      if (turn === this.asking) {
        this.info = null;
        this.problem = errorMessage(e);
      }
    }
    this.loaded = true;
    this.update();
    return this.info;
  }

  render(): JSX.Element {
    const label = buttonLabel(this.info);
    const tooltip = this.problem
      ? this.problem
      : label === RUN_LABEL
        ? 'Run this notebook as its action of project.yaml, on a backend'
        : 'Add this notebook to project.yaml as an action, to run it on a backend';
    // what the label says, for tests and styles: run, add, or unknown (not read yet, or unreadable)
    this.node.dataset.jpExtNotebookAction = this.info ? (this.info.is_action ? 'run' : 'add') : 'unknown';
    return (
      <ToolbarButtonComponent
        className="jp-ext-nb-toolbar-button"
        label={label}
        tooltip={tooltip}
        enabled={this.loaded}
        onClick={() => void this.open()}
      />
    );
  }

  private async open(): Promise<void> {
    const { store } = this.host;
    if (this.context.model.dirty && !this.info?.is_action) {
      await this.context.save(); // its writes and reads are read from the file
    }
    const [info] = await Promise.all([
      this.refresh(),
      store.loadWorkspace(), // the checkout's warnings as they are now
      store.backends.length ? Promise.resolve() : store.loadBackends()
    ]);
    if (!info) {
      await showMessage('The notebook cannot be run on a backend', this.problem);
    } else if (info.is_action) {
      this.openRun(info);
    } else if (info.proposal) {
      this.openAdd(info);
    }
  }

  private openRun(info: INotebookActionInfo): void {
    const { app, store, panel } = this.host;
    const warnings = [...(store.workspace?.checkout.warnings ?? [])];
    if (this.context.model.dirty) {
      warnings.unshift('the notebook has unsaved changes: jobs run the pushed commit');
    }
    launchForm(`Run ${info.actions.map(a => a.name).join(' or ')} on a backend`, close => (
      <RunNotebookForm
        info={info}
        workspace={store.name}
        backends={store.backends}
        backend={store.backend}
        warnings={warnings}
        submitted={(request: IRequestWithWarnings) => {
          store.jobs = withRequests(store.jobs, [request]); // events that came first are kept
          store.openRequest(request.id);
          app.shell.activateById(panel.id);
        }}
        close={close}
      />
    ));
  }

  private openAdd(info: INotebookActionInfo): void {
    const { store } = this.host;
    launchForm(`${ADD_LABEL}: ${info.path}`, close => (
      <AddActionForm
        path={info.path}
        proposal={info.proposal!}
        added={() => {
          void this.refresh();
          void store.loadActions();
          void store.loadWorkspace();
        }}
        beforeCommit={async () => {
          if (this.context.model.dirty) {
            await this.context.save();
          }
        }}
        pushed={() => {
          void store.loadWorkspace();
          void store.loadActions(); // the commit jobs run at
        }}
        close={close}
      />
    ));
  }
}

/** A dialog whose body holds its own form and buttons (Enter submits the form, not the dialog). */
function launchForm(title: string, body: (close: () => void) => JSX.Element): void {
  let dialog: Dialog<unknown> | null = null;
  const close = () => dialog?.reject();
  dialog = new Dialog({
    title,
    body: ReactWidget.create(body(close)),
    buttons: [],
    defaultButton: -1,
    hasClose: true,
    focusNodeSelector: 'input, select'
  });
  dialog.addClass('jp-ext-nb-dialog');
  void dialog.launch();
}

async function showMessage(title: string, message: string): Promise<void> {
  await new Dialog({ title, body: message, buttons: [Dialog.okButton({ label: 'Close' })] }).launch();
}
