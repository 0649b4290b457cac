// Live updates of the job server's pages, as a progressive enhancement: every page is whole
// without this script. With it, states, timings and log lines arrive from the API's event
// stream (Server-Sent Events, GET api/v1/events), and what changed while it connected is
// asked of the API once the stream is open. The page says what it does in a status line.
(function () {
  "use strict";
  var config = document.getElementById("jx-live");
  if (!config || !window.EventSource || !window.fetch) return;
  var live = JSON.parse(config.textContent);
  var mode = config.dataset.mode;
  var status = document.getElementById("jx-live-status");
  var ACTIVE = ["pending", "running"];

  function say(text, link) {
    if (!status) return;
    status.replaceChildren(document.createTextNode(text));
    if (link) {
      var a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      status.append(" ", a);
    }
  }

  function when(iso) {  // as the pages write it: <time datetime=...>2024-05-01 12:30 UTC</time>
    if (!iso) return "";
    var moment = document.createElement("time");
    moment.dateTime = iso;
    moment.textContent = new Date(iso).toISOString().slice(0, 16).replace("T", " ") + " UTC";
    return moment;
  }

  function badge(state) {
    var span = document.createElement("span");
    span.className = "jx-state jx-state-" + state + " badge";  // the page's palette (_states.css)
    span.textContent = state.replace(/_/g, " ");
    return span;
  }

  function put(cell, value) {
    if (!(value instanceof Node)) value = document.createTextNode(value == null ? "" : String(value));
    cell.replaceChildren(value);
  }

  // every element marked data-job="<identifier>" shows that job: its data-field cells follow it
  function showJob(job) {
    var shown = document.querySelectorAll('[data-job="' + CSS.escape(job.identifier) + '"]');
    shown.forEach(function (element) {
      element.querySelectorAll("[data-field]").forEach(function (cell) {
        var field = cell.dataset.field;
        if (!(field in job)) return;
        if (field === "state") put(cell, badge(job.state));
        else if (/_at$/.test(field)) put(cell, when(job[field]));
        else put(cell, job[field]);
      });
    });
    var mine = mode === "job" && job.identifier === config.dataset.job;
    if (mine && ACTIVE.indexOf(job.state) < 0) finished();
    return shown.length > 0;
  }

  function finished() {
    document.querySelectorAll("[data-while-running]").forEach(function (element) {
      element.hidden = true;
    });
    say("Finished. Reload the page for the timings.");
  }

  function ask(path) {
    return fetch(live.api + path, { credentials: "same-origin", cache: "no-store",
                                    headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .catch(function () { return null; });
  }

  // the job request page: its jobs, and its state as the API derives it
  function refreshRequest() {
    return ask("job-requests/" + encodeURIComponent(config.dataset.jobRequest)).then(function (found) {
      if (!found) return;
      found.jobs.forEach(showJob);
      document.querySelectorAll("[data-job-request-state]").forEach(function (cell) {
        put(cell, badge(found.state));
      });
      if (ACTIVE.indexOf(found.state) < 0) finished();
    });
  }

  // the study run page: its jobs at every site, each site's state and why it waits, the run's
  // state (the API derives them all: GET runs/<id>)
  function refreshRun() {
    return ask("runs/" + encodeURIComponent(config.dataset.run)).then(function (found) {
      if (!found) return;
      found.sites.forEach(function (site) {
        site.job_request.jobs.forEach(showJob);
        var shown = document.querySelectorAll('[data-site="' + CSS.escape(site.backend) + '"]');
        shown.forEach(function (element) {
          element.querySelectorAll("[data-site-state]").forEach(function (cell) {
            put(cell, badge(site.state));
          });
          element.querySelectorAll("[data-site-message]").forEach(function (cell) {
            put(cell, site.message);
          });
          element.querySelectorAll("[data-site-online]").forEach(function (cell) {
            cell.className = "badge text-bg-" + (site.online ? "success" : "secondary");
            put(cell, site.online ? "runner online" : "runner offline");
          });
          if (ACTIVE.indexOf(site.state) < 0) {
            element.querySelectorAll("[data-while-site-running]").forEach(function (form) {
              form.hidden = true;
            });
          }
        });
      });
      document.querySelectorAll("[data-run-state]").forEach(function (cell) {
        put(cell, badge(found.state));
      });
      document.querySelectorAll("[data-run-summary]").forEach(function (cell) {
        put(cell, found.summary);
      });
      if (ACTIVE.indexOf(found.state) < 0) finished();
    });
  }

  // the job page: its log, line by line, each line once
  var log = document.getElementById("log");
  var last = log ? Number(log.dataset.last) : -1;
  var following = log && log.dataset.liveLog === "yes";

  function addLines(lines) {  // [[seq, text], ...]
    if (!following) return;
    var added = false;
    lines.forEach(function (pair) {
      if (pair[0] <= last) return;
      last = pair[0];
      var line = document.createElement("span");
      line.id = "log-" + pair[0];
      line.textContent = pair[1] + "\n";
      log.appendChild(line);
      added = true;
    });
    var empty = document.getElementById("log-empty");
    if (added && empty) empty.hidden = true;
  }

  function catchUp() {
    if (mode === "job-request") return refreshRequest();
    if (mode === "run") return refreshRun();
    if (mode === "job") {
      var job = encodeURIComponent(config.dataset.job);
      ask("jobs/" + job).then(function (found) { if (found) showJob(found); });
      if (following) {
        ask("jobs/" + job + "/logs?after=" + last).then(function (lines) {
          if (lines) addLines(lines.map(function (l) { return [l.seq, l.text]; }));
        });
      }
    }
  }

  function onJob(job) {
    var shown = showJob(job);
    if (mode === "job-request" && job.job_request === config.dataset.jobRequest) refreshRequest();
    if (mode === "run") refreshRun();  // the stream carries this run's jobs only
    if (mode === "event-log" && !shown && config.dataset.first === "yes") {
      say("There are new jobs.", { href: window.location.href, text: "Show them" });
    }
  }

  function connect() {
    var source = new EventSource(live.events, { withCredentials: true });
    source.addEventListener("open", function () {
      say("Live: changes show here as they happen.");
      catchUp();
    });
    source.addEventListener("job", function (event) { onJob(JSON.parse(event.data)); });
    source.addEventListener("log", function (event) {
      var data = JSON.parse(event.data);
      if (mode === "job" && data.job === config.dataset.job) addLines(data.lines);
    });
    source.addEventListener("reconnect", function () {  // the server says it fell behind
      source.close();
      connect();
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        say("Live updates stopped: reload the page to see what changed.");
      }
    });
  }

  connect();
})();
