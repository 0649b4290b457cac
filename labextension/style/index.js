import './base.css';
import './notebook.css';
import './schedules.css';
