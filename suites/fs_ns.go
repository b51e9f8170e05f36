package suites

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Mount namespaces for the filesystem cases that change the mount table
// (bind mounts, tmpfs, proc, overlay, pivot_root, chroot, disconnected
// directories), root and unprivileged alike.
//
// As root, the case gets a private mount namespace on its own thread:
// unshare(CLONE_NEWNS) unshares the thread's fs_struct too, so mounts,
// chroot and pivot_root stay on that thread, which dies with the case
// (never the main thread: offMainThread).
//
// Unprivileged, the kernel refuses unshare(CLONE_NEWUSER) to a threaded
// process (and a Go program always is one). The first such case starts a
// namespace server instead: this binary re-executed into new user, mount,
// PID, network and cgroup namespaces (uid and gid 0 mapped to the caller's),
// where it holds every capability over its own namespaces. It runs the
// case bodies it is asked for, each on a fresh thread with a private mount
// namespace of its own, and answers with the outcome. One process start
// per pass instead of one per case: each start costs tens of milliseconds
// under TCG. Where the kernel does not allow unprivileged user namespaces
// (Debian's kernel.unprivileged_userns_clone, user.max_user_namespaces),
// the cases are skipped with that reason.

// nsBodies are the case bodies that need a mount namespace, by case ID,
// filled as the builders make the cases.
var nsBodies = map[string]func(*check.T) string{}

// withMountNS makes c run body in a private mount namespace: directly as
// root, in the namespace server unprivileged.
func withMountNS(c check.Case, body func(*check.T) string) check.Case {
	id := c.ID()
	nsBodies[id] = body
	c.Skip = skips(c.Skip, nsUnavailable)
	c.Run = func(t *check.T) string {
		if t.Env.Root {
			return fixture.OffMainThread(func() string {
				if err := privateMountNSThread(); err != nil {
					return check.SetupFailedf("%v", err)
				}
				return body(t)
			})
		}
		t.Root() // the parent owns (and removes) the case directory
		return nsSrv.run(id, t)
	}
	return c
}

// privateMountNSThread gives the calling (locked) thread its own mount
// namespace, with every mount private so that nothing propagates out.
func privateMountNSThread() error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return opErr("unshare(CLONE_NEWNS)", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return opErr("make / private", err)
	}
	return nil
}

// nsUnavailable is the environment skip of namespace cases run
// unprivileged where the kernel refuses unprivileged user namespaces.
func nsUnavailable(e check.Env) string {
	if e.Root {
		return ""
	}
	if err := nsSrv.start(); err != nil {
		return "unprivileged user namespaces are not available here (" + err.Error() + userNSSysctls() + ")"
	}
	return ""
}

// userNSSysctls names the sysctls that allow or refuse unprivileged user
// namespaces, with their values, for skip reasons.
func userNSSysctls() string {
	var out []string
	for _, s := range []string{"kernel/unprivileged_userns_clone", "user/max_user_namespaces"} {
		if b, err := os.ReadFile("/proc/sys/" + s); err == nil {
			out = append(out, strings.ReplaceAll(s, "/", ".")+"="+strings.TrimSpace(string(b)))
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "; " + strings.Join(out, ", ")
}

// The namespace server protocol: one JSON line each way per case.
type nsRequest struct {
	ID    string    `json:"id"`
	Env   check.Env `json:"env"`
	Dir   string    `json:"dir"`
	Probe string    `json:"probe,omitempty"` // an environment probe instead of a case
}

type nsResponse struct {
	Observed string `json:"observed"`
	Detail   string `json:"detail,omitempty"`
}

const nsServerAction = "fs-namespace-server"

// nsServer is the client side: one server process per pass, started on
// first use and restarted if it dies or stops answering.
type nsServer struct {
	mu      sync.Mutex
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Reader
	failed  error // a start failure: the environment refuses namespaces
	probes  map[string]string
	timeout time.Duration
}

var nsSrv = nsServer{timeout: 15 * time.Second, probes: map[string]string{}}

func (s *nsServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startLocked()
}

func (s *nsServer) startLocked() error {
	if s.cmd != nil || s.failed != nil {
		return s.failed
	}
	self, err := os.Executable()
	if err != nil {
		s.failed = err
		return err
	}
	cmd := exec.Command(self)
	cmd.Env = []string{fixture.ProbeEnv + "=" + nsServerAction + ":"}
	cmd.Dir = "/"
	cmd.Stderr = io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		Pdeathsig:   unix.SIGKILL,
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		s.failed = err
		return err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		s.failed = err
		return err
	}
	// The fork happens on a thread of its own: Pdeathsig follows the
	// thread that started the child, and the case thread dies first.
	errc := make(chan error, 1)
	go func() {
		fixture.LockThread() // kept: the thread lives as long as the pass
		errc <- cmd.Start()
		select {}
	}()
	if err := <-errc; err != nil {
		s.failed = fmt.Errorf("clone(CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWPID|CLONE_NEWNET|CLONE_NEWCGROUP): %s", check.Outcome(err))
		return s.failed
	}
	s.cmd, s.in, s.out = cmd, in, bufio.NewReader(outPipe)
	return nil
}

func (s *nsServer) stopLocked() {
	if s.cmd != nil {
		s.cmd.Process.Kill()
		s.in.Close()
		go s.cmd.Wait()
	}
	s.cmd, s.in, s.out = nil, nil, nil
}

// call sends one request and waits for its answer.
func (s *nsServer) call(req nsRequest) (nsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.startLocked(); err != nil {
		return nsResponse{}, err
	}
	b, _ := json.Marshal(req)
	if _, err := s.in.Write(append(b, '\n')); err != nil {
		s.stopLocked()
		return nsResponse{}, fmt.Errorf("namespace server: %v", err)
	}
	type result struct {
		line []byte
		err  error
	}
	rc := make(chan result, 1)
	out := s.out
	go func() {
		line, err := out.ReadBytes('\n')
		rc <- result{line, err}
	}()
	select {
	case r := <-rc:
		var resp nsResponse
		if r.err != nil || json.Unmarshal(r.line, &resp) != nil {
			s.stopLocked()
			return nsResponse{}, fmt.Errorf("namespace server died (%v)", r.err)
		}
		return resp, nil
	case <-time.After(s.timeout):
		s.stopLocked()
		return nsResponse{}, fmt.Errorf("namespace server did not answer within %v", s.timeout)
	}
}

func (s *nsServer) run(id string, t *check.T) string {
	resp, err := s.call(nsRequest{ID: id, Env: t.Env, Dir: t.Dir})
	if err != nil {
		return check.SetupFailedf("%v", err)
	}
	if resp.Detail != "" {
		t.Log = append(t.Log, resp.Detail)
	}
	t.Logf("in a user namespace")
	return resp.Observed
}

// probe runs a named environment probe in the server once per pass.
func (s *nsServer) probe(name string) string {
	s.mu.Lock()
	o, ok := s.probes[name]
	s.mu.Unlock()
	if ok {
		return o
	}
	resp, err := s.call(nsRequest{Probe: name})
	o = resp.Observed
	if err != nil {
		o = err.Error()
	}
	s.mu.Lock()
	s.probes[name] = o
	s.mu.Unlock()
	return o
}

// nsProbes are environment checks run inside a fresh mount namespace:
// "" when the environment has what the probe looks for, else the reason.
var nsProbes = map[string]func(dir string) string{}

func init() {
	fixture.ProbeActions[nsServerAction] = func(string) error {
		nsServerMain()
		return nil
	}
}

// nsServerMain serves requests on stdin until it closes.
func nsServerMain() {
	check.BuildAll() // the cases' bodies (nsBodies) are made with them
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	enc := json.NewEncoder(os.Stdout)
	for sc.Scan() {
		var req nsRequest
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			enc.Encode(nsResponse{Observed: check.SetupFailedf("bad request: %v", err)})
			continue
		}
		enc.Encode(nsServe(req))
	}
	os.Exit(0)
}

func nsServe(req nsRequest) nsResponse {
	done := make(chan nsResponse, 1)
	go func() {
		fixture.LockThread() // never unlocked: the thread and its namespace die with the case
		t := &check.T{Env: req.Env, Dir: req.Dir}
		defer func() {
			if p := recover(); p != nil {
				done <- nsResponse{Observed: fmt.Sprintf("panic: %v", p), Detail: t.Detail()}
			}
		}()
		if err := privateMountNSThread(); err != nil {
			done <- nsResponse{Observed: check.SetupFailedf("%v", err)}
			return
		}
		if req.Probe != "" {
			p, ok := nsProbes[req.Probe]
			if !ok {
				done <- nsResponse{Observed: "no probe " + req.Probe}
				return
			}
			dir, err := os.MkdirTemp("", "llconform-probe-")
			if err != nil {
				done <- nsResponse{Observed: err.Error()}
				return
			}
			defer os.RemoveAll(dir)
			done <- nsResponse{Observed: p(dir)}
			return
		}
		body, ok := nsBodies[req.ID]
		if !ok {
			done <- nsResponse{Observed: check.SetupFailedf("no namespace case %s", req.ID)}
			return
		}
		obs := check.Case{Run: body}.Execute(t)
		if why, ok := check.SetupFailure(obs, t); ok {
			obs = check.SetupPrefix + why // the fixture error crosses to the case
		}
		done <- nsResponse{Observed: obs, Detail: t.Detail()}
	}()
	return <-done
}
