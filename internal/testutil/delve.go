package testutil

import (
	"context"
	"net/rpc"
	"net/rpc/jsonrpc"
	"testing"
	"time"
)

// Delve is a client of Delve's JSON-RPC API (api-version 2), as an IDE
// drives a headless dlv: the tests of skiff debug set a breakpoint, stop
// a request there and read a variable through it.
type Delve struct {
	t testing.TB
	c *rpc.Client
}

// DialDelve connects to dlv at addr, waiting until it answers, and closes
// the connection when the test ends.
func DialDelve(t testing.TB, addr string) *Delve {
	t.Helper()
	var c *rpc.Client
	WaitFor(t, 60*time.Second, "dlv listening on "+addr, func(ctx context.Context) (bool, string) {
		cl, err := jsonrpc.Dial("tcp", addr)
		if err != nil {
			return false, err.Error()
		}
		var st map[string]any
		if err := cl.Call("RPCServer.State", map[string]any{"NonBlocking": true}, &st); err != nil {
			cl.Close()
			return false, err.Error()
		}
		c = cl
		return true, ""
	})
	t.Cleanup(func() { c.Close() })
	return &Delve{t: t, c: c}
}

// State reports whether the target runs and whether it has exited.
func (d *Delve) State() (running, exited bool) {
	d.t.Helper()
	var st struct{ Running, Exited bool }
	if err := d.c.Call("RPCServer.State", map[string]any{"NonBlocking": true}, &st); err != nil {
		d.t.Fatalf("dlv state: %v", err)
	}
	return st.Running, st.Exited
}

// Break halts the target and sets a breakpoint on the function fn
// ("main.handler"); it returns the breakpoint's id.
func (d *Delve) Break(fn string) int {
	d.t.Helper()
	var st map[string]any
	if err := d.c.Call("RPCServer.Command", map[string]any{"name": "halt"}, &st); err != nil {
		d.t.Fatalf("dlv halt: %v", err)
	}
	var bp struct{ Breakpoint struct{ ID int } }
	if err := d.c.Call("RPCServer.CreateBreakpoint", map[string]any{"Breakpoint": map[string]any{"functionName": fn}}, &bp); err != nil {
		d.t.Fatalf("dlv breakpoint on %s: %v", fn, err)
	}
	return bp.Breakpoint.ID
}

// Continue resumes the target; the channel receives the call's error (nil
// when the target stopped again, at a breakpoint) once it stops.
func (d *Delve) Continue() <-chan error {
	done := make(chan error, 1)
	call := d.c.Go("RPCServer.Command", map[string]any{"name": "continue"}, &map[string]any{}, nil)
	go func() { done <- (<-call.Done).Error }()
	return done
}

// Eval reads the expression expr in the frame where the target stopped.
func (d *Delve) Eval(expr string) string {
	d.t.Helper()
	var v struct{ Variable struct{ Value string } }
	if err := d.c.Call("RPCServer.Eval", map[string]any{"Scope": map[string]any{"GoroutineID": -1, "Frame": 0}, "Expr": expr}, &v); err != nil {
		d.t.Fatalf("dlv: reading %s: %v", expr, err)
	}
	return v.Variable.Value
}

// Clear removes the breakpoint id.
func (d *Delve) Clear(id int) {
	d.t.Helper()
	if err := d.c.Call("RPCServer.ClearBreakpoint", map[string]any{"Id": id}, &map[string]any{}); err != nil {
		d.t.Fatalf("dlv: clearing breakpoint %d: %v", id, err)
	}
}
