/**
 * jupyter-ext's Jobs panel: the workspace, its actions, job requests with live
 * logs, and released outputs, in JupyterLab's left sidebar. It talks only to the
 * server extension's handlers under `{base}jupyter-ext/`.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';

import { DRIVE_NAME, ReleasedDrive } from './drive';
import { jobsIcon } from './icon';
import { addNotebookButtons } from './notebookButton';
import { JobsPanel } from './panel';
import type { IReleaseNotice } from './releasing';
import type { IRunItem } from './runs';
import { JobsStore } from './store';
import type { IJobRequest, IRelease } from './types';

export namespace CommandIDs {
  export const open = 'jupyter-ext:open-jobs';
  export const refresh = 'jupyter-ext:refresh';
  export const submit = 'jupyter-ext:run-selected';
  export const openProject = 'jupyter-ext:open-project-yaml';
}

// the checkout's state (commits and pushes made in a terminal), while the panel is shown;
// releases need no poll: the event stream says when one changes
const POLL_MS = 30_000;

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-ext-labextension:plugin',
  description: 'The Jobs panel: run project.yaml actions, follow their logs, open released outputs.',
  autoStart: true,
  requires: [IDocumentManager],
  optional: [ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    docManager: IDocumentManager,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const openFileAt = (path: string, line?: number | null, column?: number | null) => {
      const widget = docManager.openOrReveal(path);
      if (!widget || !line) {
        return;
      }
      void widget.context.ready.then(() => {
        const editor = (widget.content as any).editor;
        if (!editor?.setCursorPosition) {
          return;
        }
        const position = { line: line - 1, column: Math.max((column ?? 1) - 1, 0) };
        editor.setCursorPosition(position);
        editor.revealPosition?.(position);
        editor.focus?.();
      });
    };
    const say = (state: string) =>
      ({
        succeeded: Notification.success,
        failed: Notification.error,
        cancelled: Notification.warning,
        nothing_to_do: Notification.info
      })[state as 'succeeded'] ?? Notification.info;
    const show = (open: () => void) => [
      {
        label: 'Show',
        callback: () => {
          app.shell.activateById(panel.id);
          open();
        }
      }
    ];
    const store: JobsStore = new JobsStore(
      {
        openFileAt,
        openReleased: (release: IRelease, path: string) => {
          docManager.openOrReveal(`${DRIVE_NAME}:${release.id}/${path}`);
        },
        finished: (request: IJobRequest) => {
          const what = `${request.actions.join(', ')} on ${request.backend}`;
          say(request.state)(`Job request ${request.state.replace(/_/g, ' ')}: ${what}`, {
            autoClose: 8000,
            actions: show(() => store.openRequest(request.id))
          });
        },
        runFinished: (run: IRunItem) => {
          const what = `${run.actions.join(', ')} at ${run.sites.map(s => s.backend).join(', ')}`;
          say(run.state)(`Study run ${run.state.replace(/_/g, ' ')}: ${what}`, {
            autoClose: 8000,
            actions: show(() => store.openRun(run.id))
          });
        },
        openFolder: (path: string, reveal: boolean) => {
          // the file browser goes to the folder; shown only when asked (the panel shares its
          // sidebar, and it says what was written)
          void app.commands
            .execute('filebrowser:go-to-path', { path, dontShowBrowser: !reveal })
            .catch(() => undefined); // no file browser in this JupyterLab
        },
        releaseNotice: (notice: IReleaseNotice) => {
          Notification[notice.level](notice.message, {
            autoClose: 8000,
            actions: [
              {
                label: 'Show',
                callback: () => app.shell.activateById(panel.id)
              }
            ]
          });
        }
      },
      PageConfig.getOption('jupyterExtWorkspace') // lists are asked for before the workspace's record
    );
    app.serviceManager.contents.addDrive(new ReleasedDrive(() => store.currentReleases()));

    const panel = new JobsPanel(store);
    panel.title.icon = jobsIcon;
    app.shell.add(panel, 'left', { rank: 600 });
    restorer?.add(panel, 'jupyter-ext-jobs');
    addNotebookButtons({ app, store, panel }); // Run on backend / Add as action

    app.commands.addCommand(CommandIDs.open, {
      label: 'Show the Jobs panel',
      caption: 'Actions of project.yaml, job requests and released outputs',
      execute: () => app.shell.activateById(panel.id)
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh the Jobs panel',
      execute: () => store.refresh()
    });
    app.commands.addCommand(CommandIDs.submit, {
      label: () => `Run the selected actions (${store.selected.size})`,
      isEnabled: () => store.canSubmit,
      execute: () => store.submit()
    });
    app.commands.addCommand(CommandIDs.openProject, {
      label: 'Open project.yaml',
      execute: () => openFileAt(store.actions?.file ?? 'project.yaml', 1)
    });
    app.commands.addKeyBinding({ command: CommandIDs.open, keys: ['Accel Alt J'], selector: 'body' });
    app.commands.addKeyBinding({
      command: CommandIDs.submit,
      keys: ['Accel Enter'],
      selector: '.jp-ext-panel'
    });
    for (const command of Object.values(CommandIDs)) {
      palette?.addItem({ command, category: 'Jobs' });
    }
    store.changed.connect(() => app.commands.notifyCommandChanged(CommandIDs.submit));

    // project.yaml saved: read the actions again; any save may change the checkout's state
    app.serviceManager.contents.fileChanged.connect((_, change) => {
      const path = change.newValue?.path ?? change.oldValue?.path ?? '';
      if (path.includes(':')) {
        return; // another drive (released outputs)
      }
      if (path === (store.actions?.file ?? 'project.yaml')) {
        void store.loadActions();
      }
      void store.loadWorkspace();
    });
    setInterval(() => {
      if (panel.isVisible) {
        void store.loadWorkspace();
      }
    }, POLL_MS);
    void store.start(); // the lists are asked for at once, while JupyterLab restores its layout
  }
};

export default plugin;
