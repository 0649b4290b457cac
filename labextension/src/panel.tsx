/**
 * The Jobs panel of the left sidebar: a ReactWidget drawing the store.
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { ActionsView } from './components/actions';
import { DatasetsView } from './components/datasets';
import { ReleaseRequestsView } from './components/release-requests';
import { ReleasesView } from './components/releases';
import { RequestsView } from './components/requests';
import { ReviewView } from './components/review';
import { SchedulesView } from './components/schedules';
import { WorkspaceView } from './components/workspace';
import { ScheduleStore } from './scheduleStore';
import type { JobsStore } from './store';

export class JobsPanel extends ReactWidget {
  /** The Schedules section's own state (it reads the Jobs store; polled only while shown). */
  readonly schedules: ScheduleStore;

  constructor(readonly store: JobsStore) {
    super();
    this.addClass('jp-ext-panel');
    this.id = 'jupyter-ext-jobs';
    this.title.caption = 'Jobs';
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'Jobs');
    store.changed.connect(() => this.update(), this);
    this.schedules = new ScheduleStore(store, () => this.isVisible);
    this.schedules.changed.connect(() => this.update(), this);
  }

  dispose(): void {
    this.schedules.dispose();
    super.dispose();
  }

  render(): JSX.Element {
    const store = this.store;
    return (
      <div className="jp-ext-panel-body">
        <div className="jp-ext-toolbar">
          <h2 className="jp-ext-heading">Jobs</h2>
          <button
            className="jp-ext-icon-button"
            aria-label="Refresh"
            title="Refresh"
            onClick={() => {
              void store.refresh();
              void this.schedules.load();
            }}
          >
            ⟳
          </button>
        </div>
        <WorkspaceView store={store} />
        <ActionsView store={store} />
        <RequestsView store={store} />
        <SchedulesView store={this.schedules} />
        <ReleaseRequestsView store={store.releasing} />
        <ReviewView store={store.releasing} />
        <ReleasesView store={store} />
        <DatasetsView store={store} />
      </div>
    );
  }
}
