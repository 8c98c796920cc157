// Package e2e holds what the multi-process tests and the benchmarks share: run
// orbit-server as a child process on a free loopback port (start and wait until
// /readyz answers, stop gracefully, or kill -9), and set up integrations, stacks
// and bindings through its API.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Server is a running orbit-server process.
type Server struct {
	URL  string // http://127.0.0.1:<port>
	Addr string // 127.0.0.1:<port>
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	err  error // set when done is closed
}

// lockedBuffer collects a child's output from the exec copier goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// StartServer starts bin with args plus `--listen 127.0.0.1:<free port>` and
// env (added to this process's environment), and waits until GET /readyz
// answers 200. The listen address is addr when not empty (a restart on the
// same port).
func StartServer(ctx context.Context, bin string, args, env []string, addr string) (*Server, error) {
	if addr == "" {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	s := &Server{URL: "http://" + addr, Addr: addr, out: &lockedBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, append(append([]string{}, args...), "--listen", addr)...)
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		s.Kill()
		return nil, fmt.Errorf("%w\noutput:\n%s", err, s.Output())
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-s.done:
			return fmt.Errorf("server exited before it was ready: %v", s.err)
		default:
		}
		resp, err := client.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return errors.New("server not ready in time")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Output is what the process wrote to stdout and stderr so far.
func (s *Server) Output() string { return s.out.String() }

// Pid is the process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Kill sends SIGKILL (kill -9) and waits for the process to be gone.
func (s *Server) Kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// Stop sends SIGTERM and waits up to timeout for a graceful exit, then kills.
func (s *Server) Stop(timeout time.Duration) error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		var exit *exec.ExitError
		if errors.As(s.err, &exit) {
			return fmt.Errorf("server exited with %v\noutput:\n%s", s.err, s.Output())
		}
		return nil
	case <-time.After(timeout):
		s.Kill()
		return errors.New("server did not stop in time; killed")
	}
}

// Exited reports whether the process has ended.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// FreePort returns a TCP port free on 127.0.0.1 at the time of the call.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("listener address %v is not TCP", ln.Addr())
	}
	return addr.Port, nil
}
