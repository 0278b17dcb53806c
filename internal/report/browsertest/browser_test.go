package browsertest

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

var (
	docs  = flag.Bool("docs", false, "write the screenshot shown in the docs, docs/report.png")
	shots = flag.String("shots", "", "write a full-page screenshot of every page and theme to this directory, to look at")
)

// results are the fixed JSON results of the report's own tests.
const results = "../testdata"

// page is a report that molotov report writes, and what it must show.
type page struct {
	name     string
	args     []string // molotov report's files
	headline string   // what the first verdict's headline says
	charts   int      // charts drawn
	empty    int      // charts replaced by a note that there is nothing to plot
	segments int      // rows of the table of segments (of a merge)
}

var pages = []page{
	{"closed", []string{"closed.json"}, "Passed: 721 scenario runs", 4 + 3, 0, 0},
	{"open-drops", []string{"open-drops.json"}, "Passed: 455 scenario runs", 5 + 3, 0, 0},
	{"open-lag", []string{"open-lag.json"}, "Passed: 650 scenario runs", 5 + 3 + 1, 0, 0}, // and the start lag's curve
	{"open-pool", []string{"open-pool.json"}, "Passed: 500 scenario runs", 5 + 3 + 1, 0, 0},
	// Of two open runs, only the new one measured its start lag.
	{"open-comparison", []string{"open-drops.json", "open-lag.json"}, "Passed: 455 scenario runs", 5 + 3 + 1, 0, 0},
	{"thresholds", []string{"thresholds.json"}, "Failed: 2 of 4 thresholds broke", 4 + 3, 0, 0},
	{"no-runs", []string{"no-runs.json"}, "Failed: 2 workers failed their setup", 0, 2, 0},
	{"example", []string{"example.json"}, "Failed: 2 of 3 thresholds broke", 5 + 3 + 1, 0, 0},
	{"comparison", []string{"example-old.json", "example.json"}, "Passed: 6,225 scenario runs", 5 + 3 + 1, 0, 0},
	{"merged", []string{"merged.json"}, "Passed: 1,647 scenario runs", 4 + 2, 0, 4},
	{"merged-partial", []string{"merged-partial.json"}, "Passed: 1,242 scenario runs", 4 + 2, 0, 3},
}

// The report opens from a file in headless Chromium with the network
// off, in the light and the dark theme: every chart draws its lines, the
// verdict is there, the console stays clean and the page asks for
// nothing over the network.
func TestReportInChromium(t *testing.T) {
	browser := startChromium(t)
	molotov := buildMolotov(t)
	dir := t.TempDir()
	for _, p := range pages {
		file := filepath.Join(dir, p.name+".html")
		args := []string{"report", "-o", file}
		for _, a := range p.args {
			args = append(args, filepath.Join(results, a))
		}
		if out, err := exec.Command(molotov, args...).CombinedOutput(); err != nil && !strings.Contains(string(out), "wrote") {
			t.Fatalf("molotov %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		for _, theme := range []string{"light", "dark"} {
			t.Run(p.name+"/"+theme, func(t *testing.T) {
				shot := open(t, browser, file, theme, func(t *testing.T, c check) {
					if !strings.Contains(c.Headline, p.headline) {
						t.Errorf("verdict %q, want it to say %q", c.Headline, p.headline)
					}
					if len(c.Charts) != p.charts || c.Empty != p.empty {
						t.Errorf("%d charts and %d notes of nothing to plot, want %d and %d", len(c.Charts), c.Empty, p.charts, p.empty)
					}
					if c.Segments != p.segments {
						t.Errorf("%d rows of segments, want %d", c.Segments, p.segments)
					}
					if c.Cards != len(c.Charts) {
						t.Errorf("%d chart frames for %d charts: a chart failed to draw", c.Cards, len(c.Charts))
					}
					for _, ch := range c.Charts {
						// Each line shows: tens of pixels of its colour at
						// least, where another line does not cover it.
						if len(ch.Colors) == 0 {
							t.Errorf("chart %q has no values", ch.Title)
						}
						for color, px := range ch.Colors {
							if px < 20 {
								t.Errorf("chart %q: the series of colour %s drew %d pixels", ch.Title, color, px)
							}
						}
					}
				})
				if *docs && p.name == "example" && theme == "light" {
					if err := os.WriteFile(filepath.Join("..", "..", "..", "docs", "report.png"), shot, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			})
		}
	}
}

// check is what the page shows, read in the browser.
type check struct {
	Headline string
	Cards    int // chart frames
	Empty    int // notes of nothing to plot
	Segments int // rows of the table of segments
	Charts   []struct {
		Title string
		// Colors counts, for the colour of each series with values, the
		// pixels of that colour on the chart's canvas.
		Colors map[string]int
	}
}

// checkJS reads the page: the first verdict, and for each chart how many
// pixels of its canvas have the colour of each of its series that has
// values (series of one colour, the same figure of two runs, count once).
const checkJS = `(() => {
	const rgb = (c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
	const charts = window.molotovReport ? window.molotovReport.charts() : [];
	return {
		Headline: (document.querySelector(".verdict .headline") || {}).textContent || "",
		Cards: document.querySelectorAll("div.chart").length,
		Empty: document.querySelectorAll(".chart.empty").length,
		Segments: document.querySelectorAll("table.segments tbody tr").length,
		Charts: charts.map((c) => {
			const colors = {};
			c.series.filter((s) => s.values > 0).forEach((s) => { colors[s.stroke] = 0; });
			const px = c.canvas.getContext("2d").getImageData(0, 0, c.canvas.width, c.canvas.height).data;
			for (let i = 0; i < px.length; i += 4) {
				if (px[i + 3] < 200) continue;
				for (const color in colors) {
					const [r, g, b] = rgb(color);
					if (Math.abs(px[i] - r) + Math.abs(px[i + 1] - g) + Math.abs(px[i + 2] - b) < 30) colors[color]++;
				}
			}
			return { Title: c.title, Colors: colors };
		}),
	};
})()`

// open loads file in a new tab of browser with the network off and the
// given colour scheme, hands what the page shows to verify, checks the
// console and the requests, and returns a screenshot of the top of the
// page.
func open(t *testing.T, browser context.Context, file, theme string, verify func(*testing.T, check)) []byte {
	ctx, cancel := chromedp.NewContext(browser)
	defer cancel()
	ctx, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatal(err)
	}

	var mu sync.Mutex
	var problems []string
	note := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, s)
	}
	watch, unwatch := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for m, err := range chromedp.Console(watch) {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning {
				note("console " + m.String())
			}
		}
	}()
	go func() {
		defer wg.Done()
		for ev, err := range chromedp.Events(watch, network.RequestWillBeSent) {
			if err != nil {
				return
			}
			if !strings.HasPrefix(ev.Request.URL, "file://") {
				note("request to " + ev.Request.URL)
			}
		}
	}()

	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	offline := offlineParams{Offline: true, MatchedNetworkConditions: []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}}}
	if _, err := chromedp.Call(ctx, emulateOffline, offline); err != nil {
		t.Fatal(err)
	}
	media := emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: theme}}}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, media); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.documentElement.hasAttribute("data-charts")`)); err != nil {
		t.Fatalf("the page's script never finished: %v", err)
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](checkJS))
	if err != nil {
		t.Fatal(err)
	}
	var c check
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	verify(t, c)
	if len(c.Charts) > 0 {
		hover(t, ctx)
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if *shots != "" {
		full, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		name := strings.ReplaceAll(t.Name(), "/", "-") + ".png"
		if err := os.WriteFile(filepath.Join(*shots, name), full, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	time.Sleep(100 * time.Millisecond) // the last console events in flight
	unwatch()
	wg.Wait()
	for _, p := range problems {
		t.Error(p)
	}
	return shot
}

// hover moves the mouse over the first chart, three quarters along its
// time axis, and checks that its legend then reads the values there.
func hover(t *testing.T, ctx context.Context) {
	t.Helper()
	at, err := chromedp.Run(ctx, chromedp.Evaluate[[2]float64](`(() => {
		const r = document.querySelector(".chart .u-over").getBoundingClientRect();
		return [r.left + r.width * 0.75, r.top + r.height * 0.4];
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, at[0], at[1])); err != nil {
		t.Fatal(err)
	}
	values, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".chart")[0].querySelectorAll(".u-legend .u-value")].map((e) => e.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(values) < 2 || !strings.ContainsAny(values[0], "0123456789") || !strings.ContainsAny(values[1], "0123456789") {
		t.Errorf("hovering the first chart, its legend reads %q, want the values under the cursor", values)
	}
}

// startChromium starts headless Chromium for the test. It skips the test
// when Chromium is not installed, except in CI (CI set), whose .ci/run
// installs it.
func startChromium(t *testing.T) context.Context {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("Chromium is not installed; .ci/run installs it (apt-get install chromium)")
		}
		t.Skip("Chromium is not installed (apt-get install chromium)")
	}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1600),
	)
	t.Cleanup(cancel)
	browser, stop := chromedp.NewContext(alloc)
	t.Cleanup(stop)
	if err := chromedp.Do(browser); err != nil { // starts the browser
		t.Fatal(err)
	}
	return browser
}

// buildMolotov builds the molotov command of the module three levels up.
func buildMolotov(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "molotov")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/molotov")
	cmd.Dir = filepath.Join("..", "..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/molotov: %v\n%s", err, out)
	}
	return bin
}

// offlineParams are Network.emulateNetworkConditionsByRule's parameters
// as every Chromium that has the command reads them: those that want
// offline beside the rules refuse the call without it, and the others
// read it from the rule.
type offlineParams struct {
	Offline                  bool                  `json:"offline"`
	MatchedNetworkConditions []*network.Conditions `json:"matchedNetworkConditions"`
}

// emulateOffline is Network.emulateNetworkConditionsByRule with
// offlineParams.
var emulateOffline = cdp.Command[offlineParams, network.EmulateNetworkConditionsByRuleResult]{Method: network.CommandEmulateNetworkConditionsByRule}
