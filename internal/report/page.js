// Draws the report's charts with uPlot from the JSON embedded in the page.
// Every figure is also in the tables: this script only draws.
(function () {
	"use strict";

	var data = JSON.parse(document.getElementById("molotov-data").textContent);
	var runs = data.runs;
	var diff = runs.length > 1;
	var colors = {
		ok: "#2e9e5b", failed: "#d64545", p50: "#3b82f6", p90: "#a855f7", p99: "#e8590c",
		workers: "#0d9488", busy: "#7c3aed", target: "#8a94a0", started: "#3b82f6", dropped: "#e8590c",
		latency: "#3b82f6", service: "#0d9488", lag: "#d97706"
	};
	// Printed pages are light whatever the screen's theme.
	var printTheme = { fg: "#1c2024", axis: "#444", grid: "rgba(0,0,0,0.1)", stage: "rgba(60,60,60,0.6)" };
	var printing = false;
	var charts = [];

	function cssVar(name) {
		return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
	}
	function theme() {
		if (printing) return printTheme;
		return { fg: cssVar("--fg"), axis: cssVar("--axis"), grid: cssVar("--grid"), stage: cssVar("--stage") };
	}

	// Formats.
	function fmtSecs(s) {
		if (s == null) return "-";
		s = Math.round(s);
		var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
		if (h > 0) return h + "h" + (m < 10 ? "0" : "") + m + "m";
		if (m > 0) return m + "m" + (r ? (r < 10 ? "0" : "") + r + "s" : "");
		return r + "s";
	}
	function fmtMs(v) {
		if (v == null) return "-";
		if (v === 0) return "0";
		if (v >= 1000) return +(v / 1000).toPrecision(3) + "s";
		if (v >= 1) return +v.toPrecision(3) + "ms";
		return +(v * 1000).toPrecision(3) + "µs";
	}
	function fmtNum(v) {
		if (v == null) return "-";
		return Math.abs(v) >= 100 ? Math.round(v).toLocaleString("en-US") : +v.toPrecision(3) + "";
	}
	function fmtPct(v) {
		return v == null ? "-" : +v.toPrecision(3) + "%";
	}
	function fmtNines(n) {
		if (n == null) return "-";
		var p = 100 * (1 - Math.pow(10, -n));
		var digits = Math.max(0, Math.ceil(n - 1e-9) - 2);
		return (n > 0 && p.toFixed(digits) === "100" ? p.toFixed(digits + 1) : p.toFixed(digits)) + "%";
	}

	// The runs' labels in a comparison: "old" and "new".
	function runName(i) {
		return diff ? (i === 0 ? "old" : "new") : "";
	}
	function seriesLabel(i, what) {
		return diff ? runName(i) + " " + what : what;
	}
	// In a comparison the old run is dashed and lighter.
	function styleFor(i, color) {
		var s = { stroke: color, width: 2 };
		if (diff && i === 0) {
			s.dash = [6, 4];
			s.alpha = 0.8;
		}
		return s;
	}

	function card(parent, title, note) {
		var el = document.createElement("div");
		el.className = "chart";
		var h = document.createElement("h3");
		h.textContent = title;
		if (note) {
			var sub = document.createElement("span");
			sub.className = "sub";
			sub.textContent = " " + note;
			h.appendChild(sub);
		}
		el.appendChild(h);
		parent.appendChild(el);
		return el;
	}
	function empty(parent, text) {
		var p = document.createElement("p");
		p.className = "chart empty";
		p.textContent = text;
		parent.appendChild(p);
	}

	// Dashed vertical lines at the ends of the load shape's stages.
	function stagesPlugin(ends) {
		return {
			hooks: {
				draw: [function (u) {
					if (!ends.length) return;
					var ctx = u.ctx, th = theme(), top = u.bbox.top, bottom = u.bbox.top + u.bbox.height;
					ctx.save();
					ctx.strokeStyle = th.stage;
					ctx.fillStyle = th.stage;
					ctx.lineWidth = Math.max(1, devicePixelRatio);
					ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
					ctx.font = Math.round(10 * devicePixelRatio) + "px sans-serif";
					ctx.textAlign = "center";
					var from = u.valToPos(0, "x", true);
					ends.forEach(function (t, k) {
						var x = Math.round(u.valToPos(t, "x", true));
						if (x < u.bbox.left || x > u.bbox.left + u.bbox.width + 1) return;
						ctx.beginPath();
						ctx.moveTo(x, top);
						ctx.lineTo(x, bottom);
						ctx.stroke();
						// The stage's name in the middle of its span, when it fits.
						var label = "stage " + (k + 1);
						if (x - from > ctx.measureText(label).width + 8 * devicePixelRatio) {
							ctx.fillText(label, (from + x) / 2, top + 11 * devicePixelRatio);
						}
						from = x;
					});
					ctx.restore();
				}]
			}
		};
	}

	// Steps of the time axis: whole seconds, then minutes, then hours.
	var secondSteps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400];

	function axes(th, xFmt, yFmt, ySplits) {
		var grid = { stroke: th.grid, width: 1 };
		var ticks = { stroke: th.grid, width: 1 };
		return [
			{ stroke: th.axis, grid: grid, ticks: ticks, space: 50, incrs: secondSteps, values: function (u, splits) { return splits.map(xFmt); } },
			{ stroke: th.axis, grid: grid, ticks: ticks, size: 60, splits: ySplits, values: function (u, splits) { return splits.map(yFmt); } }
		];
	}

	function zeroBased(u, min, max) {
		return [0, max > 0 ? max * 1.08 : 1];
	}

	// add draws one chart; build returns uPlot's options and data for a
	// width, so that the chart can be drawn again (resize, theme, print).
	function add(el, build) {
		var c = { el: el, build: build, u: null, title: el.firstChild.textContent };
		charts.push(c);
		draw(c);
	}
	function draw(c) {
		if (c.u) c.u.destroy();
		var width = Math.max(280, c.el.clientWidth - 20);
		if (printing) width = c.el.parentNode.classList.contains("grid") ? 330 : 680;
		var spec = c.build(width, theme());
		c.u = new uPlot(spec.opts, spec.data, c.el);
	}
	function redrawAll() {
		charts.forEach(draw);
	}

	// The time charts: one x axis, seconds from the start, shared by every
	// chart and every run, with the cursor moving in step.
	var end = 0;
	runs.forEach(function (r) {
		var t = r.timeline.t || [];
		if (t.length) end = Math.max(end, t[t.length - 1]);
	});
	var stageEnds = [];
	runs.forEach(function (r) {
		(r.stages || []).forEach(function (t) { if (stageEnds.indexOf(t) < 0) stageEnds.push(t); });
	});
	stageEnds.sort(function (a, b) { return a - b; });

	// join puts curves with x values of their own on one x axis, the union
	// of theirs, with null where a curve has no point.
	function join(curves) {
		var x = [];
		curves.forEach(function (c) { c.x.forEach(function (v) { if (x.indexOf(v) < 0) x.push(v); }); });
		x.sort(function (a, b) { return a - b; });
		var at = {};
		x.forEach(function (v, i) { at[v] = i; });
		return [x].concat(curves.map(function (c) {
			var col = x.map(function () { return null; });
			c.x.forEach(function (v, i) { col[at[v]] = c.y[i]; });
			return col;
		}));
	}

	function timeChart(title, note, yFmt, lines) {
		var present = lines.filter(function (l) { return runs[l.run].timeline[l.key]; });
		if (!present.length) return;
		var el = card(document.getElementById("time-charts"), title, note);
		add(el, function (width, th) {
			var series = [{ label: "time", value: function (u, v) { return fmtSecs(v); } }];
			present.forEach(function (l) {
				var s = styleFor(l.run, l.color);
				s.label = seriesLabel(l.run, l.label);
				s.value = function (u, v) { return yFmt(v); };
				s.spanGaps = false;
				s.points = { show: false };
				if (l.dash) s.dash = l.dash;
				series.push(s);
			});
			var cols = join(present.map(function (l) {
				return { x: runs[l.run].timeline.t, y: runs[l.run].timeline[l.key] };
			}));
			return {
				opts: {
					width: width, height: 200, series: series, plugins: [stagesPlugin(stageEnds)],
					scales: { x: { time: false, range: [0, Math.max(1, end)] }, y: { range: zeroBased } },
					axes: axes(th, fmtSecs, yFmt),
					cursor: { y: false, sync: { key: "molotov-time" }, points: { size: 6 } },
					legend: { live: true }
				},
				data: cols
			};
		});
	}

	function perRun(fn) {
		var out = [];
		runs.forEach(function (r, i) { out = out.concat(fn(r, i)); });
		return out;
	}

	function timeCharts() {
		if (!runs.some(function (r) { return r.timeline.t && r.timeline.t.length; })) {
			empty(document.getElementById("time-charts"), "No scenario run ended: there is nothing to plot over time.");
			return;
		}
		timeChart("Scenario runs per second", "ended each second", fmtNum, perRun(function (r, i) {
			return [
				{ run: i, key: "ok_per_s", label: "ok", color: colors.ok },
				{ run: i, key: "failed_per_s", label: "failed", color: colors.failed }
			];
		}));
		var open = runs.some(function (r) { return r.open; });
		if (open) {
			timeChart("Starts per second", "open model: the starts that began, the starts dropped, the target rate (dashed)", fmtNum, perRun(function (r, i) {
				if (!r.open) return [];
				// The target goes last, dashed over the starts: a run that
				// keeps its rate draws both on one line, and both show.
				return [
					{ run: i, key: "started_per_s", label: "started", color: colors.started },
					{ run: i, key: "dropped_per_s", label: "dropped", color: colors.dropped },
					{ run: i, key: "target_per_s", label: "target", color: colors.target, dash: [2, 3] }
				];
			}));
		}
		timeChart("Latency", open ? "of the runs that ended each second, from their intended start" : "of the runs that ended each second", fmtMs, perRun(function (r, i) {
			var l = [{ run: i, key: "p50_ms", label: "p50", color: colors.p50 }];
			if (r.timeline.p90_ms) l.push({ run: i, key: "p90_ms", label: "p90", color: colors.p90 });
			l.push({ run: i, key: "p99_ms", label: "p99", color: colors.p99 });
			return l;
		}));
		timeChart("Errors", "failed runs, in percent of the runs that ended each second", fmtPct, perRun(function (r, i) {
			return [{ run: i, key: "fail_pct", label: "failed", color: colors.failed }];
		}));
		var busy = runs.some(function (r) { return r.timeline.busy; });
		timeChart("Active workers", busy ? "at the end of each second; open model: the most busy at once in each second" : "at the end of each second", fmtNum, perRun(function (r, i) {
			var l = [{ run: i, key: "workers", label: "workers", color: colors.workers }];
			if (r.timeline.busy) l.push({ run: i, key: "busy", label: "busy", color: colors.busy });
			return l;
		}));
	}

	// Splits for a log latency axis: 1, 2 and 5 in each decade for a
	// narrow range, fewer for a wide one.
	function logSplits(u, axisIdx, min, max) {
		var out = [];
		var decades = Math.log10(max / min);
		var steps = decades <= 2 ? [1, 2, 5] : decades <= 4 ? [1, 3] : [1];
		for (var d = Math.floor(Math.log10(min)); d <= Math.ceil(Math.log10(max)); d++) {
			steps.forEach(function (m) {
				var v = m * Math.pow(10, d);
				if (v >= min * 0.999 && v <= max * 1.001) out.push(v);
			});
		}
		return out;
	}

	// percentileChart draws curves by percentile, HdrHistogram style: the
	// x axis in nines, the y axis log.
	function percentileChart(parent, title, note, curves) {
		var el = card(parent, title, note);
		add(el, function (width, th) {
			var series = [{ label: "percentile", value: function (u, v) { return fmtNines(v); } }];
			var lo = Infinity, hi = 0;
			curves.forEach(function (c) {
				var s = styleFor(c.run, c.color);
				s.label = seriesLabel(c.run, c.label);
				s.value = function (u, v) { return fmtMs(v); };
				s.spanGaps = true;
				s.points = { show: c.curve.nines.length < 3, size: 5 };
				series.push(s);
				c.curve.ms.forEach(function (v) {
					lo = Math.min(lo, Math.max(v, 0.001));
					hi = Math.max(hi, v);
				});
			});
			var cols = join(curves.map(function (c) {
				return { x: c.curve.nines, y: c.curve.ms.map(function (v) { return Math.max(v, 0.001); }) };
			}));
			var x = cols[0];
			var top = Math.max(1, Math.ceil(x[x.length - 1]));
			var ySplits = function (u, i, min, max) { return logSplits(u, i, min, max); };
			return {
				opts: {
					width: width, height: 240, series: series,
					scales: {
						x: { time: false, range: [0, top] },
						y: { distr: 3, log: 10, range: function () { return [Math.pow(10, Math.floor(Math.log10(lo))), Math.pow(10, Math.ceil(Math.log10(hi)))]; } }
					},
					axes: [
						{ stroke: th.axis, grid: { stroke: th.grid, width: 1 }, ticks: { stroke: th.grid, width: 1 },
							splits: function () { var s = []; for (var n = 0; n <= top; n++) s.push(n); return s; },
							values: function (u, splits) { return splits.map(fmtNines); } },
						{ stroke: th.axis, grid: { stroke: th.grid, width: 1 }, ticks: { stroke: th.grid, width: 1 }, size: 60,
							splits: ySplits, filter: function (u, splits) { return splits; },
							values: function (u, splits) { return splits.map(fmtMs); } }
					],
					cursor: { points: { size: 6 } },
					legend: { live: true }
				},
				data: cols
			};
		});
	}

	function distCharts() {
		var names = [];
		runs.forEach(function (r) {
			r.scenarios.forEach(function (s) { if (s.curve && names.indexOf(s.name) < 0) names.push(s.name); });
		});
		var lag = [];
		runs.forEach(function (r, i) {
			if (r.start_lag) lag.push({ run: i, label: "start lag", curve: r.start_lag, color: colors.lag });
		});
		var parent = document.getElementById("dist-charts");
		if (!names.length && !lag.length) {
			empty(parent, "No scenario run ended: there is no latency to show.");
			return;
		}
		var open = runs.some(function (r) { return r.open; });
		names.forEach(function (name) {
			var curves = [];
			runs.forEach(function (r, i) {
				r.scenarios.forEach(function (s) {
					if (s.name !== name) return;
					if (s.curve) curves.push({ run: i, label: "latency", curve: s.curve, color: colors.latency });
					if (s.service_curve) curves.push({ run: i, label: "service time", curve: s.service_curve, color: colors.service });
				});
			});
			percentileChart(parent, name, open ? "latency from the intended start, service time from the actual start" : "", curves);
		});
		// The open model's start lag, of every scenario's starts: how well
		// the schedule was kept.
		if (lag.length) {
			percentileChart(parent, "Start lag", "open model: how late each start began against its intended time", lag);
		}
	}

	timeCharts();
	distCharts();

	var resizeTimer;
	window.addEventListener("resize", function () {
		clearTimeout(resizeTimer);
		resizeTimer = setTimeout(redrawAll, 150);
	});
	if (window.matchMedia) {
		var dark = window.matchMedia("(prefers-color-scheme: dark)");
		if (dark.addEventListener) dark.addEventListener("change", redrawAll);
	}
	window.addEventListener("beforeprint", function () { printing = true; redrawAll(); });
	window.addEventListener("afterprint", function () { printing = false; redrawAll(); });

	// For tests and tools: which charts were drawn.
	window.molotovReport = {
		charts: function () {
			return charts.map(function (c) {
				return {
					title: c.title,
					canvas: c.u.ctx.canvas,
					series: c.u.series.slice(1).map(function (s, k) {
						var n = c.u.data[k + 1].filter(function (v) { return v != null; }).length;
						return { label: s.label, stroke: typeof s.stroke === "function" ? s.stroke(c.u, k + 1) : s.stroke, values: n };
					})
				};
			});
		}
	};
	document.documentElement.setAttribute("data-charts", String(charts.length));
})();
