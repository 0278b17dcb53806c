package molotov

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"

	"go.uber.org/zap"
)

// ownPackage is the import path of this package: its frames are not where
// a user's panic happened.
var ownPackage = reflect.TypeOf(PanicError{}).PkgPath()

// panicSite returns "file.go:line" of the frame that panicked in a
// runtime.Stack trace: the first frame after the call to panic that is
// neither the runtime's nor this module's own code (its tests excepted);
// "" when there is none.
func panicSite(stack []byte) string {
	frames := stackFrames(stack)
	from := 0
	for i, f := range frames {
		if strings.HasPrefix(f.fn, "panic(") {
			from = i + 1
			break
		}
	}
	for _, f := range frames[from:] {
		if f.users() {
			return filepath.Base(f.file) + ":" + f.line
		}
	}
	return ""
}

// stackFrame is one frame of a runtime.Stack trace: the function, with
// its arguments, and where it was.
type stackFrame struct{ fn, file, line string }

// users reports whether the frame is the user's code (or the standard
// library's, but for the runtime): not this module's own, its tests
// excepted, nor the line that says which goroutine started this one.
func (f stackFrame) users() bool {
	own := (strings.HasPrefix(f.fn, ownPackage+".") || strings.HasPrefix(f.fn, ownPackage+"/internal/")) && !strings.HasSuffix(f.file, "_test.go")
	return !own && !strings.HasPrefix(f.fn, "runtime.") && !strings.HasPrefix(f.fn, "panic(") && !strings.HasPrefix(f.fn, "created by ")
}

// stackFrames parses a runtime.Stack trace: after the goroutine's line,
// a function line and a tab-indented "file:line +0x..." line per frame.
func stackFrames(stack []byte) []stackFrame {
	lines := strings.Split(string(stack), "\n")
	var out []stackFrame
	for i := 1; i+1 < len(lines); i += 2 {
		pos := strings.TrimPrefix(lines[i+1], "\t")
		if pos == lines[i+1] { // not a position line: the trace is not what was expected
			break
		}
		pos, _, _ = strings.Cut(pos, " +0x")
		j := strings.LastIndexByte(pos, ':')
		if j < 0 {
			break
		}
		out = append(out, stackFrame{fn: lines[i], file: pos[:j], line: pos[j+1:]})
	}
	return out
}

// stackKey identifies a panic's stack by the user's frames: their
// functions and positions, without the arguments' values, which differ
// from one panic to the next at the same place, nor the frames of the
// runner below them, which differ from one scenario run to the next.
func stackKey(stack []byte) string {
	var b strings.Builder
	for _, f := range stackFrames(stack) {
		if !f.users() {
			continue
		}
		fn := f.fn
		if i := strings.LastIndexByte(fn, '('); i > 0 && strings.HasSuffix(fn, ")") {
			fn = fn[:i] // the arguments' values
		}
		b.WriteString(fn + " " + f.file + ":" + f.line + "\n")
	}
	return b.String()
}

// maxPanicStacks bounds the distinct stacks a run keeps for Verbose 1.
const maxPanicStacks = 20

// panicStacks keeps the distinct stacks of a run's panics, and how many
// failures each caused, to print each once at the end under Verbose 1.
type panicStacks struct {
	mu    sync.Mutex
	index map[string]int // stackKey → position in seen
	seen  []panicSeen
	other int64 // panics whose stacks came after maxPanicStacks others
}

type panicSeen struct {
	msg   string // the failure's error
	stack []byte // the first one's
	n     int64
}

// add counts a panic's failure under its stack.
func (p *panicStacks) add(msg string, pe *PanicError) {
	key := stackKey(pe.Stack)
	p.mu.Lock()
	defer p.mu.Unlock()
	if i, ok := p.index[key]; ok {
		p.seen[i].n++
		return
	}
	if len(p.seen) >= maxPanicStacks {
		p.other++
		return
	}
	if p.index == nil {
		p.index = map[string]int{}
	}
	p.index[key] = len(p.seen)
	p.seen = append(p.seen, panicSeen{msg: msg, stack: pe.Stack, n: 1})
}

// reportPanics prints, under Verbose >= 1, each distinct stack of the
// run's panics once, with the number of failures it caused: on the
// console, or to the user's Logger.
func (rs *runState) reportPanics() {
	p := &rs.panics
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.seen {
		if rs.cfg.Logger != nil {
			rs.logger.Info("panic stack", zap.Int64("failures", s.n), zap.String("error", s.msg), zap.ByteString("stack", s.stack))
			continue
		}
		rs.console.Println(fmt.Sprintf("%d failures: %s, with this stack (the first's):\n%s", s.n, s.msg, bytes.TrimRight(s.stack, "\n")))
	}
	if p.other > 0 {
		line := fmt.Sprintf("%d more failures by panics, with stacks past the first %d", p.other, maxPanicStacks)
		if rs.cfg.Logger != nil {
			rs.logger.Info(line)
		} else {
			rs.console.Println(line)
		}
	}
}

// asPanic returns the *PanicError in err's chain, or nil.
func asPanic(err error) *PanicError {
	var pe *PanicError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}
