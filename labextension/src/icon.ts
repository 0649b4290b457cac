import { LabIcon } from '@jupyterlab/ui-components';

/** The Jobs panel's tab: three stacked bars, drawn in the theme's icon colour. */
export const jobsIcon = new LabIcon({
  name: 'jupyter-ext:jobs',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">' +
    '<g class="jp-icon3" fill="#616161">' +
    '<rect x="3" y="4" width="12" height="4" rx="1"/>' +
    '<rect x="6" y="10" width="15" height="4" rx="1"/>' +
    '<rect x="9" y="16" width="9" height="4" rx="1"/>' +
    '</g></svg>'
});
