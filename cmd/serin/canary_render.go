package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/canary"
)

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// bar draws a weight as a 30-cell progress bar.
func bar(weight int32) string {
	const cells = 30
	n := int(weight) * cells / 100
	return "[" + strings.Repeat("█", n) + strings.Repeat("░", cells-n) + "]"
}

func since(t *time.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	return now.Sub(*t).Round(time.Second).String()
}

func renderList(w io.Writer, list []canary.View, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tNAME\tPHASE\tSTEP\tWEIGHT\tRELEASE\tIN STEP\tLAST DECISION")
	for _, v := range list {
		last := "-"
		if n := len(v.Decisions); n > 0 {
			last = v.Decisions[n-1].Verdict + ": " + truncate(v.Decisions[n-1].Reason, 60)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d%%\t%s\t%s\t%s\n", v.Namespace, v.Name, v.Phase, stepOf(v), v.Weight, v.Release, since(v.StepStarted, now), last)
	}
	tw.Flush()
}

func stepOf(v canary.View) string {
	if v.Step < 0 {
		return "mirror"
	}
	return fmt.Sprintf("%d/%d", v.Step+1, len(v.Steps))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// renderStatus is `serin canary status`: where the rollout is, the live
// numbers of the step against the limits, and the last decisions.
func renderStatus(w io.Writer, v canary.View, now time.Time) {
	fmt.Fprintf(w, "Canary %s/%s   release %s   stable %s   provider %s\n", v.Namespace, v.Name, v.Release, v.Stable, v.Provider)
	fmt.Fprintf(w, "Phase  %s", v.Phase)
	if v.Suspended {
		fmt.Fprint(w, " (suspended)")
	}
	fmt.Fprintln(w)
	var steps []string
	for i, s := range v.Steps {
		if int32(i) == v.Step {
			steps = append(steps, fmt.Sprintf("[%d]", s))
		} else {
			steps = append(steps, fmt.Sprint(s))
		}
	}
	fmt.Fprintf(w, "Step   %s   weights %s\n", stepOf(v), strings.Join(steps, " → "))
	fmt.Fprintf(w, "Weight %s %3d%% canary\n", bar(v.Weight), v.Weight)
	fmt.Fprintf(w, "In step %s (since %s)   failed checks %d/%d\n", since(v.StepStarted, now), stamp(v.StepStarted), v.FailedChecks, v.Limits.FailureLimit)
	if v.Message != "" {
		label := "Waiting"
		if v.Phase == v1alpha1.PhaseError {
			label = "Error"
		}
		fmt.Fprintf(w, "%s: %s\n", label, v.Message)
	}
	fmt.Fprintln(w)
	renderLive(w, v)
	if n := len(v.Decisions); n > 0 {
		fmt.Fprintln(w, "\nLast decisions:")
		for _, d := range v.Decisions[max(0, n-8):] {
			fmt.Fprintf(w, "  %s  step %-2d %3d%%  %-12s %s%s\n", d.At.Local().Format("15:04:05.000"), d.Step, d.Weight, d.Verdict, d.Reason, manual(d.CanaryDecision))
		}
	}
}

func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format("15:04:05")
}

func renderLive(w io.Writer, v canary.View) {
	l := v.Limits
	var lim []string
	lim = append(lim, fmt.Sprintf("≥ %d canary requests", l.MinRequests))
	if l.MaxErrorRate != nil {
		lim = append(lim, fmt.Sprintf("error rate ≤ %.2f%%", *l.MaxErrorRate))
	}
	if l.MaxLatencyP99 != "" {
		lim = append(lim, "p99 ≤ "+l.MaxLatencyP99)
	}
	if l.Confidence > 0 {
		lim = append(lim, fmt.Sprintf("not worse than stable at %.3g confidence", l.Confidence))
	}
	if l.MaxLatencyRatio > 0 {
		lim = append(lim, fmt.Sprintf("p99 ≤ %.2g× stable", l.MaxLatencyRatio))
	}
	fmt.Fprintf(w, "Limits: %s; check every %s, step at most %s then %s\n", strings.Join(lim, ", "), l.Interval, l.MaxStepDuration, l.OnInsufficient)
	if v.Live == nil {
		fmt.Fprintln(w, "Live:   no check in this step yet")
		return
	}
	at := "-"
	if v.LiveAt != nil {
		at = v.LiveAt.Local().Format("15:04:05")
	}
	fmt.Fprintf(w, "Live (checked %s, since the step began): %s\n", at, v.Live.Result)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  \tREQUESTS\tERRORS\tERROR RATE\tP99")
	for _, s := range []struct {
		name string
		side canary.Side
	}{{"canary", v.Live.Canary}, {"stable", v.Live.Stable}} {
		p99 := "-"
		if s.side.HasP99 {
			p99 = s.side.P99.Round(10 * time.Microsecond).String()
		}
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%.2f%%\t%s\n", s.name, s.side.Requests, s.side.Errors, s.side.ErrorRate(), p99)
	}
	tw.Flush()
	for _, c := range v.Live.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %s\n", mark, c.Detail)
	}
	for _, m := range v.Live.Metrics {
		if m.Err != "" {
			fmt.Fprintf(w, "  ??   metric %s: %s\n", m.Name, m.Err)
		} else {
			fmt.Fprintf(w, "  %-4s metric %s = %.4g\n", "", m.Name, m.Value)
		}
	}
}

// manual marks a decision an operator made.
func manual(d v1alpha1.CanaryDecision) string {
	switch {
	case !d.Manual:
		return ""
	case d.Actor == "":
		return "  [manual]"
	}
	return "  [manual: " + d.Actor + "]"
}

func renderHistory(w io.Writer, name string, list []canary.Release) {
	if len(list) == 0 {
		fmt.Fprintf(w, "%s has no releases yet\n", name)
		return
	}
	for _, r := range list {
		outcome := string(r.Outcome)
		ended := "running"
		if r.Ended != nil {
			ended = r.Ended.Local().Format(time.DateTime) + " after " + r.Ended.Sub(r.Started).Round(time.Second).String()
		}
		if outcome == "" {
			outcome = "in progress"
		}
		var steps []string
		for _, s := range r.Spec.Steps {
			steps = append(steps, fmt.Sprint(s.Weight))
		}
		if st := r.Spec.Strategy; st != "" && st != v1alpha1.StrategyCanary {
			steps = []string{string(st)}
		}
		fmt.Fprintf(w, "Release #%d  %s  %s\n  started %s, %s\n  steps %s, provider %s\n", r.Number, r.Release, outcome,
			r.Started.Local().Format(time.DateTime), ended, strings.Join(steps, " → "), r.Spec.Analysis.Provider)
		for _, d := range r.Decisions {
			nums := ""
			if d.CanaryRequests+d.StableRequests > 0 {
				nums = fmt.Sprintf("  [canary %d req %s%% err, stable %d req %s%% err]", d.CanaryRequests, d.CanaryErrorRate, d.StableRequests, d.StableErrorRate)
			}
			fmt.Fprintf(w, "  %s  step %-2d %3d%%  %-11s %s%s%s\n", d.Time.Local().Format("15:04:05"), d.Step, d.Weight, d.Verdict, d.Reason, manual(d), nums)
		}
		fmt.Fprintln(w)
	}
}
