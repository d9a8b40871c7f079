/*
 * The validator page: sends the payload to the server's own $validate and shows the
 * OperationOutcome grouped by resource; an issue, clicked, highlights its line.
 * Plain JavaScript on purpose: nothing to build, nothing fetched from elsewhere.
 */
(function () {
  "use strict";

  const form = document.getElementById("validator");
  const base = form.dataset.base;
  const examplesUrl = form.dataset.examples;
  const $ = function (id) { return document.getElementById(id); };
  const payload = $("payload");
  const gutter = $("gutter");
  const mark = $("line-mark");
  const verdict = $("verdict");
  const issuesBox = $("issues");
  const storeResult = $("store-result");
  const profileSelect = $("profile");
  const buttons = { validate: $("validate"), download: $("download"), store: $("store") };
  const CORE = "http://hl7.org/fhir/StructureDefinition/";
  const SEVERITY_RANK = { fatal: 0, error: 1, warning: 2, information: 3 };

  const state = {
    tree: null,          // parsed payload (jsonpos tree) of the text last validated
    outcome: null,       // last OperationOutcome
    validText: null,     // the text that validated without errors (store is offered for it)
    inflight: null,      // AbortController of the running request
    lineCount: 0,
  };

  // ---- editor: line numbers, highlight ---------------------------------------------

  function lineHeight() {
    return parseFloat(getComputedStyle(payload).lineHeight) || 20;
  }

  function updateGutter() {
    const text = payload.value;
    let count = 1;
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) { count++; }
    if (count !== state.lineCount) {
      state.lineCount = count;
      const numbers = new Array(count);
      for (let n = 0; n < count; n++) { numbers[n] = n + 1; }
      gutter.textContent = numbers.join("\n");
    }
    syncScroll();
  }

  function syncScroll() {
    gutter.scrollTop = payload.scrollTop;
    if (!mark.hidden) { placeMark(); }
  }

  function placeMark() {
    const line = Number(mark.dataset.line);
    const style = getComputedStyle(payload);
    mark.style.top = (parseFloat(style.paddingTop) + (line - 1) * lineHeight() - payload.scrollTop) + "px";
    mark.style.height = lineHeight() + "px";
  }

  function clearMark() {
    mark.hidden = true;
    $("cursor-pos").textContent = "";
    delete mark.dataset.line;
    document.querySelectorAll(".issue[aria-current]").forEach(function (b) { b.removeAttribute("aria-current"); });
  }

  /** Select line `line` (1-based) in the textarea, scroll it into view, and mark it. */
  function highlightLine(line) {
    const text = payload.value;
    let start = 0;
    for (let n = 1; n < line; n++) {
      const next = text.indexOf("\n", start);
      if (next === -1) { break; }
      start = next + 1;
    }
    let end = text.indexOf("\n", start);
    if (end === -1) { end = text.length; }
    payload.focus({ preventScroll: true });
    payload.setSelectionRange(start, end);
    payload.scrollTop = Math.max(0, (line - 1) * lineHeight() - payload.clientHeight / 3);
    mark.dataset.line = String(line);
    mark.hidden = false;
    placeMark();
    syncScroll();
    $("cursor-pos").textContent = "Line " + line + " highlighted.";
  }

  // ---- payload in ----------------------------------------------------------------

  function setPayload(text, thenValidate) {
    payload.value = text;
    payload.scrollTop = 0;
    clearMark();
    updateGutter();
    resetResult();
    if (thenValidate) { validate(); }
  }

  function readFile(file) {
    if (!file) { return; }
    const reader = new FileReader();
    reader.onload = function () { setPayload(String(reader.result), true); };
    reader.onerror = function () { showVerdict("error", "Could not read " + file.name + "."); };
    reader.readAsText(file);
  }

  async function loadExample() {
    const name = $("example").value;
    try {
      const response = await fetch(examplesUrl + encodeURIComponent(name));
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      setPayload(await response.text(), true);
    } catch (e) {
      showVerdict("error", "Could not load the example " + name + ": " + e.message);
    }
  }

  // ---- validation ------------------------------------------------------------------

  function resetResult() {
    state.outcome = null;
    state.validText = null;
    buttons.download.disabled = true;
    buttons.store.disabled = true;
    storeResult.textContent = "";
    storeResult.className = "";
  }

  function showVerdict(kind, text) {
    verdict.className = "verdict " + kind;
    verdict.textContent = text;
  }

  function validateUrl(rtype) {
    const profile = profileSelect.value;
    let url = base + "/" + encodeURIComponent(rtype) + "/$validate";
    if (profile === "core") {
      url += "?profile=" + encodeURIComponent(CORE + rtype);
    } else if (profile) {
      url += "?profile=" + encodeURIComponent(profile);
    }
    return url;
  }

  async function validate() {
    const text = payload.value;
    resetResult();
    clearMark();
    issuesBox.replaceChildren();
    if (!text.trim()) {
      showVerdict("idle", "Paste a FHIR resource or Bundle first.");
      return;
    }
    let tree;
    try {
      tree = JsonPos.parse(text);
    } catch (e) {
      if (!(e instanceof JsonPos.JsonSyntaxError)) { throw e; }
      state.tree = null;
      showVerdict("invalid", "Not valid: the text is not JSON (" + e.message + ").");
      renderIssues([{ severity: "fatal", code: "structure", diagnostics: e.message, line: e.line }], null);
      return;
    }
    state.tree = tree;
    const rtypeNode = tree.kind === "object" ? tree.entries.get("resourceType") : null;
    if (!rtypeNode || rtypeNode.kind !== "string") {
      showVerdict("invalid", "Not valid: the JSON has no resourceType, so it is not a FHIR resource.");
      return;
    }
    const rtype = rtypeNode.value;
    let body = text;
    if (rtype === "Parameters") { // a Parameters payload must be wrapped, or $validate reads it as its input
      body = '{"resourceType":"Parameters","parameter":[{"name":"resource","resource":' + text + "}]}";
    }
    if (state.inflight) { state.inflight.abort(); }
    const controller = new AbortController();
    state.inflight = controller;
    showVerdict("busy", "Checking with the server…");
    buttons.validate.disabled = true;
    const started = performance.now();
    try {
      const response = await fetch(validateUrl(rtype), {
        method: "POST",
        body: body,
        signal: controller.signal,
        headers: authHeaders({ "Content-Type": "application/fhir+json", Accept: "application/fhir+json" }),
      });
      const answer = await response.json().catch(function () { return null; });
      if (!answer || answer.resourceType !== "OperationOutcome") {
        showVerdict("error", "The server answered HTTP " + response.status + " without an OperationOutcome.");
        return;
      }
      showOutcome(answer, response, text, performance.now() - started);
    } catch (e) {
      if (e.name !== "AbortError") { showVerdict("error", "Could not reach the server: " + e.message); }
    } finally {
      if (state.inflight === controller) {
        state.inflight = null;
        buttons.validate.disabled = false;
      }
    }
  }

  function showOutcome(outcome, response, text, millis) {
    state.outcome = outcome;
    buttons.download.disabled = false;
    const issues = Array.isArray(outcome.issue) ? outcome.issue : [];
    const count = function (sevs) { return issues.filter(function (i) { return sevs.includes(i.severity); }).length; };
    const errors = count(["fatal", "error"]);
    const warnings = count(["warning"]);
    const against = profileSelect.options[profileSelect.selectedIndex].text;
    const took = " (" + Math.round(millis) + " ms)";
    if (!response.ok && response.status !== 400 && response.status !== 422) {
      // not a verdict on the payload: no $validate, not authorised, server trouble
      const first = issues[0] && (issues[0].diagnostics || issues[0].code);
      showVerdict("error", "Could not validate (HTTP " + response.status + ")" + (first ? ": " + first : "") + ".");
      state.validText = null;
      buttons.store.disabled = true;
      issuesBox.replaceChildren();
      return;
    } else if (errors === 0) {
      state.validText = text;
      buttons.store.disabled = false;
      showVerdict("valid", "Valid — " + against + ": no errors, " + plural(warnings, "warning") + took + ".");
    } else {
      showVerdict("invalid", "Not valid — " + against + ": " + plural(errors, "error") + ", " +
        plural(warnings, "warning") + took + ".");
    }
    renderIssues(issues, state.tree);
  }

  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  /** FHIRPath of an issue: expression first, the deprecated location otherwise. */
  function issuePath(issue) {
    return (issue.expression && issue.expression[0]) || (issue.location && issue.location[0]) || "";
  }

  /** Which resource an issue is about: a Bundle entry, or the payload's root. */
  function groupOf(path, tree) {
    const m = /^Bundle\.entry\[(\d+)\]\.resource\b/.exec(path);
    if (m && tree) {
      const entry = JsonPos.locate(tree, "Bundle.entry[" + m[1] + "].resource").node;
      const type = entry && entry.kind === "object" && entry.entries.get("resourceType");
      const id = entry && entry.kind === "object" && entry.entries.get("id");
      const label = "entry[" + m[1] + "] " + (type ? type.value : "resource") + (id ? "/" + id.value : "");
      return { key: "entry" + m[1], label: label, order: Number(m[1]) };
    }
    if (!path) { return { key: "general", label: "General", order: -2 }; }
    const rootType = tree && tree.kind === "object" && tree.entries.get("resourceType");
    const rootId = tree && tree.kind === "object" && tree.entries.get("id");
    const label = (rootType ? rootType.value : path.split(".")[0]) + (rootId ? "/" + rootId.value : "");
    return { key: "root", label: label + (rootType && rootType.value === "Bundle" ? " (the Bundle itself)" : ""), order: -1 };
  }

  function renderIssues(issues, tree) {
    const groups = new Map();
    issues.forEach(function (issue) {
      const path = issuePath(issue);
      const group = groupOf(path, tree);
      if (!groups.has(group.key)) { groups.set(group.key, { info: group, issues: [] }); }
      groups.get(group.key).issues.push(issue);
    });
    const ordered = Array.from(groups.values()).sort(function (a, b) { return a.info.order - b.info.order; });
    const fragment = document.createDocumentFragment();
    ordered.forEach(function (group) {
      group.issues.sort(function (a, b) { return (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9); });
      const section = document.createElement("section");
      section.className = "issue-group";
      const heading = document.createElement("h3");
      heading.textContent = group.info.label + " — " + plural(group.issues.length, "issue");
      section.appendChild(heading);
      const list = document.createElement("ul");
      group.issues.forEach(function (issue) { list.appendChild(issueItem(issue, tree)); });
      section.appendChild(list);
      fragment.appendChild(section);
    });
    issuesBox.replaceChildren(fragment);
  }

  function issueItem(issue, tree) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    const severity = issue.severity || "information";
    button.className = "issue sev-" + severity;
    const path = issuePath(issue);
    const message = issue.diagnostics || (issue.details && issue.details.text) || issue.code || "(no message)";
    const badge = document.createElement("span");
    badge.className = "sev";
    badge.textContent = severity;
    const text = document.createElement("span");
    text.className = "msg";
    text.textContent = message;
    button.append(badge, text);
    let line = issue.line;
    if (!line && path && tree) {
      const found = JsonPos.locate(tree, path);
      line = found.node.keyLine;
      if (!found.complete) { button.dataset.approximate = "true"; }
    }
    if (path) {
      const where = document.createElement("code");
      where.className = "path";
      where.textContent = path;
      button.appendChild(where);
    }
    if (line) {
      button.dataset.line = String(line);
      const at = document.createElement("span");
      at.className = "line";
      at.textContent = "line " + line;
      button.appendChild(at);
      button.addEventListener("click", function () {
        clearMark();
        button.setAttribute("aria-current", "true");
        highlightLine(line);
      });
    } else {
      button.disabled = true;
    }
    item.appendChild(button);
    return item;
  }

  // ---- results out -----------------------------------------------------------------

  function authHeaders(headers) {
    const token = $("token").value.trim();
    if (token) { headers.Authorization = "Bearer " + token; }
    return headers;
  }

  function download() {
    if (!state.outcome) { return; }
    const blob = new Blob([JSON.stringify(state.outcome, null, 2)], { type: "application/fhir+json" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = "OperationOutcome.json";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
  }

  /** Where a valid payload is stored: documents as Bundles, transactions at the base. */
  function storeTarget(tree) {
    const rtype = tree.entries.get("resourceType").value;
    const bundleType = rtype === "Bundle" && tree.entries.get("type") ? tree.entries.get("type").value : null;
    if (bundleType === "transaction" || bundleType === "batch") { return base + "/"; }
    return base + "/" + encodeURIComponent(rtype);
  }

  async function store() {
    if (state.validText === null || state.validText !== payload.value) { return; }
    storeResult.className = "store busy";
    storeResult.textContent = "Storing…";
    try {
      const response = await fetch(storeTarget(state.tree), {
        method: "POST",
        body: state.validText,
        headers: authHeaders({ "Content-Type": "application/fhir+json", Accept: "application/fhir+json",
                               Prefer: "return=minimal" }),
      });
      const answer = await response.json().catch(function () { return null; });
      const diagnostics = answer && answer.resourceType === "OperationOutcome" && answer.issue && answer.issue[0]
        ? (answer.issue[0].diagnostics || answer.issue[0].code) : "";
      if (response.ok) {
        const where = response.headers.get("Location") || "";
        storeResult.className = "store ok";
        storeResult.textContent = "Stored (HTTP " + response.status + ")" + (where ? ": " + where : ".");
      } else if (response.status === 401 || response.status === 403) {
        storeResult.className = "store failed";
        storeResult.textContent = "Not authorised to store (HTTP " + response.status + "): " + diagnostics +
          " — give a bearer token under “Authorisation for storing”.";
      } else {
        storeResult.className = "store failed";
        storeResult.textContent = "Not stored (HTTP " + response.status + "): " + diagnostics;
      }
    } catch (e) {
      storeResult.className = "store failed";
      storeResult.textContent = "Could not reach the server: " + e.message;
    }
  }

  function formatPayload() {
    try {
      setPayload(JsonPos.format(JsonPos.parse(payload.value)) + "\n", false);
    } catch (e) {
      showVerdict("invalid", "Cannot format: " + e.message + ".");
    }
  }

  // ---- wiring ----------------------------------------------------------------------

  form.addEventListener("submit", function (event) { event.preventDefault(); validate(); });
  payload.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); validate(); }
  });
  payload.addEventListener("input", function () {
    updateGutter();
    if (state.validText !== null && payload.value !== state.validText) { buttons.store.disabled = true; }
  });
  payload.addEventListener("paste", function () { setTimeout(function () { updateGutter(); validate(); }, 0); });
  payload.addEventListener("scroll", syncScroll);
  const editor = $("editor");
  editor.addEventListener("dragover", function (event) { event.preventDefault(); editor.classList.add("drop"); });
  editor.addEventListener("dragleave", function () { editor.classList.remove("drop"); });
  editor.addEventListener("drop", function (event) {
    event.preventDefault();
    editor.classList.remove("drop");
    readFile(event.dataTransfer.files[0]);
  });
  $("file").addEventListener("change", function (event) { readFile(event.target.files[0]); });
  $("load-example").addEventListener("click", loadExample);
  $("format").addEventListener("click", formatPayload);
  buttons.download.addEventListener("click", download);
  buttons.store.addEventListener("click", store);
  profileSelect.addEventListener("change", function () { if (payload.value.trim()) { validate(); } });
  window.addEventListener("resize", syncScroll);
  const saved = sessionStorage.getItem("fhirsrv.token");
  if (saved) { $("token").value = saved; }
  $("token").addEventListener("change", function () { sessionStorage.setItem("fhirsrv.token", $("token").value); });
  updateGutter();
})();
