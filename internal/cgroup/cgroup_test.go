package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

const hogEnv = "MPROC_CGROUP_TEST_HOG"

// TestMain makes the test binary the process the real test puts under a
// limit when hogEnv is set.
func TestMain(m *testing.M) {
	if os.Getenv(hogEnv) != "" {
		hog()
		return
	}
	os.Exit(m.Run())
}

// hog waits for a line on stdin (its parent has moved it into a group by
// then), then makes 1 GiB resident, a MiB at a time.
func hog() {
	bufio.NewReader(os.Stdin).ReadString('\n')
	var keep [][]byte
	for i := range 1024 {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = byte(i)
		}
		keep = append(keep, b)
	}
	fmt.Println("survived", len(keep))
	os.Exit(0)
}

// fakeRoot writes files under a new directory: name → content.
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// hybridMounts is the mountinfo of a machine with v1 controllers and a
// cgroup2 mount beside them, like the one this was written on.
const hybridMounts = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:12 - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

const hybridCgroup = `5:devices:/
4:memory:/process_api/9be3
1:cpu:/
0::/
`

func TestFindV1(t *testing.T) {
	root := fakeRoot(t, map[string]string{
		"proc/self/cgroup":                         hybridCgroup,
		"proc/self/mountinfo":                      hybridMounts,
		"sys/fs/cgroup/unified/cgroup.controllers": "hugetlb\n", // no memory in v2
	})
	p, err := find(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "sys/fs/cgroup/memory/process_api/9be3"); p.Dir != want || p.V2 {
		t.Errorf("find = %+v, want the v1 memory cgroup %s", p, want)
	}
	if g := p.Group(7, 42); g.Dir() != filepath.Join(p.Dir, "mproc-7-42") {
		t.Errorf("Group(7, 42).Dir() = %s", g.Dir())
	}
}

// TestFindPrefersWritable: of two mounts of the memory hierarchy, a
// read-only one listed first and a writable one, find takes the writable.
func TestFindPrefersWritable(t *testing.T) {
	root := fakeRoot(t, map[string]string{
		"proc/self/cgroup": "4:memory:/job\n",
		"proc/self/mountinfo": "35 31 0:32 / /ro ro,relatime - cgroup cgroup rw,memory\n" +
			"36 31 0:32 / /rw rw,relatime - cgroup cgroup rw,memory\n",
	})
	p, err := find(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "rw/job"); p.Dir != want {
		t.Errorf("find = %+v, want the writable mount's %s", p, want)
	}
}

// TestMountDir: a cgroup whose name starts with ".." is a cgroup like any
// other; a path element ".." leaves the mount.
func TestMountDir(t *testing.T) {
	m := mount{root: "/docker/abc", point: "/sys/fs/cgroup/memory"}
	for path, want := range map[string]string{
		"/docker/abc":           "/sys/fs/cgroup/memory",
		"/docker/abc/..job":     "/sys/fs/cgroup/memory/..job",
		"/docker/abc/a/..b/c..": "/sys/fs/cgroup/memory/a/..b/c..",
		"/docker/abc/..":        "",
		"/docker/abc/a/../../x": "",
		"/docker/abcd":          "",
		"/other":                "",
	} {
		got, ok := m.dir(path)
		if got != want || ok != (want != "") {
			t.Errorf("dir(%q) = %q, %v; want %q", path, got, ok, want)
		}
	}
}

// TestFindV1MountedBelowRoot: inside a container the mount's root is the
// container's cgroup, and /proc/self/cgroup may show the full path.
func TestFindV1MountedBelowRoot(t *testing.T) {
	root := fakeRoot(t, map[string]string{
		"proc/self/cgroup":    "7:cpuacct,memory:/docker/abc/job\n",
		"proc/self/mountinfo": `35 31 0:32 /docker/abc /sys/fs/cgroup/memory\040x ro,relatime - cgroup cgroup rw,cpuacct,memory` + "\n",
	})
	p, err := find(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "sys/fs/cgroup/memory x/job"); p.Dir != want || p.V2 {
		t.Errorf("find = %+v, want %s", p, want)
	}
}

func TestFindV2(t *testing.T) {
	root := fakeRoot(t, map[string]string{
		"proc/self/cgroup":    "0::/user.slice/app.scope\n",
		"proc/self/mountinfo": "25 1 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
		"sys/fs/cgroup/user.slice/app.scope/cgroup.controllers": "cpu io memory pids\n",
	})
	p, err := find(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "sys/fs/cgroup/user.slice/app.scope"); p.Dir != want || !p.V2 {
		t.Errorf("find = %+v, want the v2 cgroup %s", p, want)
	}
}

func TestFindNone(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"no proc": {},
		"v2 without memory": {
			"proc/self/cgroup":                   "0::/a\n",
			"proc/self/mountinfo":                "25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
			"sys/fs/cgroup/a/cgroup.controllers": "cpu pids\n",
		},
		"v1 memory not mounted": {
			"proc/self/cgroup":    hybridCgroup,
			"proc/self/mountinfo": "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n",
		},
		"garbage": {
			"proc/self/cgroup":    "::::\n\x00\n4:memory\n",
			"proc/self/mountinfo": "- - -\n1 2 3\n",
		},
	} {
		t.Run(name, func(t *testing.T) {
			if p, err := find(fakeRoot(t, files)); !errors.Is(err, ErrUnavailable) {
				t.Errorf("find = %+v, %v; want ErrUnavailable", p, err)
			}
		})
	}
}

// fakeKernel makes Create's mkdir create, in a fake hierarchy, the files
// the kernel would put in a new group.
func fakeKernel(t *testing.T, files ...string) {
	t.Helper()
	saved := mkdir
	t.Cleanup(func() { mkdir = saved })
	mkdir = func(dir string) error {
		if err := os.Mkdir(dir, 0o755); err != nil {
			return err
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
				return err
			}
		}
		return nil
	}
}

// TestCreateSetsLimits checks which files Create writes, in a fake group
// whose files its mkdir makes as the kernel would.
func TestCreateSetsLimits(t *testing.T) {
	t.Run("v1", func(t *testing.T) {
		fakeKernel(t, "memory.limit_in_bytes", "memory.memsw.limit_in_bytes")
		g, err := Parent{Dir: t.TempDir()}.Create(1, 7, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(g.Dir()) != "mproc-1-7" {
			t.Errorf("the group is %s, want mproc-1-7", g.Dir())
		}
		for _, f := range []string{"memory.limit_in_bytes", "memory.memsw.limit_in_bytes"} {
			if b, _ := os.ReadFile(filepath.Join(g.Dir(), f)); string(b) != "1048576" {
				t.Errorf("%s = %q", f, b)
			}
		}
	})
	t.Run("v1 without swap accounting", func(t *testing.T) {
		fakeKernel(t, "memory.limit_in_bytes")
		g, err := Parent{Dir: t.TempDir()}.Create(1, 7, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(g.Dir(), "memory.memsw.limit_in_bytes")); !os.IsNotExist(err) {
			t.Errorf("Create made memory.memsw.limit_in_bytes: %v", err)
		}
	})
	for _, h := range []string{"1\n", ""} {
		t.Run("v1 use_hierarchy "+strings.TrimSpace(h), func(t *testing.T) {
			fakeKernel(t, "memory.limit_in_bytes")
			dir := t.TempDir()
			if h != "" {
				os.WriteFile(filepath.Join(dir, "memory.use_hierarchy"), []byte(h), 0o644)
			}
			if _, err := (Parent{Dir: dir}).Create(1, 7, 1<<20); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("v1 use_hierarchy 0", func(t *testing.T) {
		fakeKernel(t, "memory.limit_in_bytes")
		dir := fakeRoot(t, map[string]string{"memory.use_hierarchy": "0\n"})
		_, err := Parent{Dir: dir}.Create(1, 7, 1<<20)
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), `memory.use_hierarchy is "0"`) {
			t.Errorf("Create = %v, want ErrUnavailable saying use_hierarchy is 0", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "mproc-1-7")); !os.IsNotExist(err) {
			t.Errorf("a group was made: %v", err)
		}
	})
	t.Run("v2", func(t *testing.T) {
		fakeKernel(t, "memory.max", "memory.swap.max", "memory.oom.group")
		dir := fakeRoot(t, map[string]string{"cgroup.subtree_control": "cpu memory\n"})
		g, err := Parent{Dir: dir, V2: true}.Create(1, 7, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for f, want := range map[string]string{"memory.max": "1048576", "memory.swap.max": "0", "memory.oom.group": "1"} {
			if b, _ := os.ReadFile(filepath.Join(g.Dir(), f)); string(b) != want {
				t.Errorf("%s = %q, want %q", f, b, want)
			}
		}
	})
	t.Run("v2 enables memory for children", func(t *testing.T) {
		fakeKernel(t, "memory.max")
		dir := fakeRoot(t, map[string]string{"cgroup.subtree_control": "cpu\n"})
		if _, err := (Parent{Dir: dir, V2: true}).Create(1, 7, 1<<20); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control")); string(b) != "+memory" {
			t.Errorf("cgroup.subtree_control got %q, want +memory", b)
		}
	})
	t.Run("v2 cannot enable memory", func(t *testing.T) {
		// The kernel's refusal (EBUSY: the cgroup has processes) stands in
		// as a directory, which no write can open.
		fakeKernel(t, "memory.max")
		dir := fakeRoot(t, map[string]string{"cgroup.subtree_control/x": ""})
		if _, err := (Parent{Dir: dir, V2: true}).Create(1, 7, 1<<20); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Create = %v, want ErrUnavailable", err)
		}
	})
	t.Run("not a cgroup", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := (Parent{Dir: dir}).Create(1, 7, 1<<20); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Create = %v, want ErrUnavailable", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "mproc-1-7")); !os.IsNotExist(err) {
			t.Errorf("the failed group is left: %v", err)
		}
	})
}

// TestCreateNeverReuses: a group of the same name left by an earlier
// process (a pid used again) is removed and made anew, so nothing of the
// old one carries over; if it cannot be removed, Create fails and leaves
// it alone.
func TestCreateNeverReuses(t *testing.T) {
	fakeKernel(t, "memory.limit_in_bytes")
	t.Run("empty", func(t *testing.T) {
		dir := t.TempDir()
		old := filepath.Join(dir, "mproc-1-7")
		if err := os.MkdirAll(filepath.Join(old, "mproc-7-8"), 0o755); err != nil {
			t.Fatal(err)
		}
		g, err := Parent{Dir: dir}.Create(1, 7, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(g.Dir(), "mproc-7-8")); !os.IsNotExist(err) {
			t.Errorf("the old group's child is still there: %v", err)
		}
		if b, _ := os.ReadFile(filepath.Join(g.Dir(), "memory.limit_in_bytes")); string(b) != "1048576" {
			t.Errorf("memory.limit_in_bytes = %q", b)
		}
	})
	t.Run("in use", func(t *testing.T) {
		// A file stands in for a process: the kernel refuses the rmdir.
		dir := fakeRoot(t, map[string]string{"mproc-1-7/cgroup.procs": "4242\n"})
		_, err := Parent{Dir: dir}.Create(1, 7, 1<<20)
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "exists and cannot be removed") {
			t.Errorf("Create = %v, want ErrUnavailable: the group exists and cannot be removed", err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "mproc-1-7/cgroup.procs")); string(b) != "4242\n" {
			t.Errorf("the old group was touched: cgroup.procs = %q", b)
		}
	})
}

// TestSwapEscapes: only v1 without memsw files, with a swap area listed,
// lets swap escape the limit.
func TestSwapEscapes(t *testing.T) {
	const header = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
	on := fakeRoot(t, map[string]string{"swaps": header + "/swapfile file 1048572 0 -2\n"})
	off := fakeRoot(t, map[string]string{"swaps": header})
	memsw := fakeRoot(t, map[string]string{"memory.memsw.limit_in_bytes": "9223372036854771712\n"})
	for _, c := range []struct {
		name  string
		p     Parent
		swaps string
		want  bool
	}{
		{"v1 no memsw, swap on", Parent{Dir: t.TempDir()}, on, true},
		{"v1 no memsw, swap off", Parent{Dir: t.TempDir()}, off, false},
		{"v1 memsw, swap on", Parent{Dir: memsw}, on, false},
		{"v2, swap on", Parent{Dir: t.TempDir(), V2: true}, on, false},
	} {
		if got := c.p.swapEscapes(filepath.Join(c.swaps, "swaps")); got != c.want {
			t.Errorf("%s: swapEscapes = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestOOMKilled(t *testing.T) {
	for _, c := range []struct {
		name  string
		v2    bool
		files map[string]string
		want  bool
	}{
		{"v2 killed", true, map[string]string{"memory.events": "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n"}, true},
		{"v2 hit max only", true, map[string]string{"memory.events": "low 0\nhigh 0\nmax 12\noom 0\noom_kill 0\n"}, false},
		{"v2 no file", true, nil, false},
		{"v1 killed", false, map[string]string{"memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n", "memory.failcnt": "40\n"}, true},
		{"v1 reclaimed", false, map[string]string{"memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", "memory.failcnt": "40\n"}, false},
		{"v1 old kernel", false, map[string]string{"memory.oom_control": "oom_kill_disable 0\nunder_oom 0\n", "memory.failcnt": "3\n"}, true},
		{"v1 old kernel never hit", false, map[string]string{"memory.oom_control": "oom_kill_disable 0\n", "memory.failcnt": "0\n"}, false},
		{"v1 garbage", false, map[string]string{"memory.oom_control": "oom_kill x\n", "memory.failcnt": "-1\n"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := &Group{dir: fakeRoot(t, c.files), v2: c.v2}
			if got := g.OOMKilled(); got != c.want {
				t.Errorf("OOMKilled() = %v, want %v", got, c.want)
			}
		})
	}
}

// deadPid returns the pid of a process that has exited and been reaped.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestSweep: only the groups of dead owners go, with the empty groups
// below them; a live owner's groups stay, also those of its dead
// processes, whose OOM counts it may not have read yet.
func TestSweep(t *testing.T) {
	dead, dead2, self := deadPid(t), deadPid(t), os.Getpid()
	kept := []string{
		fmt.Sprintf("mproc-%d-%d", self, dead), // a live owner's dead worker
		fmt.Sprintf("mproc-%d-%d", self, self), // a live owner's live worker
		fmt.Sprintf("mproc-%d-5", dead2),       // a process is still in it
		fmt.Sprintf("mproc-%d", dead),          // not this package's name
		"mproc-x-1", "other",
	}
	files := map[string]string{fmt.Sprintf("mproc-%d-5/cgroup.procs", dead2): "4242"}
	for _, d := range kept {
		files[d+"/.keep"] = ""
	}
	delete(files, fmt.Sprintf("mproc-%d-5/.keep", dead2))
	dir := fakeRoot(t, files)
	for _, d := range []string{
		fmt.Sprintf("mproc-%d-1", dead),
		fmt.Sprintf("mproc-%d-2/mproc-2-3/mproc-3-4", dead), // a nested pool's
		"mproc-999999999-6",
	} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range kept[:2] {
		os.Remove(filepath.Join(dir, d, ".keep")) // empty, as a dead worker's group is
	}
	Parent{Dir: dir}.Sweep()
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	slices.Sort(kept)
	if !slices.Equal(left, kept) {
		t.Errorf("after Sweep: %v, want %v (the empty groups of dead owners removed)", left, kept)
	}
}

// TestRemoveNested: Remove removes the empty groups below a group first,
// as a worker that ran a pool with MemoryLimit of its own leaves them.
func TestRemoveNested(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "mproc-1-2/mproc-2-3/mproc-3-4"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "mproc-1-2/mproc-2-5"), 0o755); err != nil {
		t.Fatal(err)
	}
	g := Parent{Dir: dir}.Group(1, 2)
	if err := g.Remove(); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := os.Stat(g.Dir()); !os.IsNotExist(err) {
		t.Errorf("%s is still there: %v", g.Dir(), err)
	}
	if err := g.Remove(); err != nil {
		t.Errorf("Remove of a group that is gone: %v", err)
	}
}

// kernelParent returns this process's memory cgroup when groups can be
// made in it, by creating and removing one as callers would: on cgroup v2
// mkdir may work where enabling the memory controller for children does
// not, so only Create's ErrUnavailable tells. Otherwise it logs why and
// returns false: callers fall back to RLIMIT_DATA there.
func kernelParent(t *testing.T) (Parent, bool) {
	t.Helper()
	self, err := Self()
	if err != nil {
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Self = %v, want ErrUnavailable when there is no memory cgroup", err)
		}
		t.Logf("no memory cgroup here (%v): callers fall back to RLIMIT_DATA", err)
		return self, false
	}
	g, err := self.Create(os.Getpid(), deadPid(t), 1<<30)
	if err != nil {
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Create = %v, want ErrUnavailable as its only failure", err)
		}
		t.Logf("no memory cgroup can be made under %s (%v): callers fall back to RLIMIT_DATA", self.Dir, err)
		return self, false
	}
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	return self, true
}

// TestKernelSetLimit: a real group's limit can be raised and lowered; on
// v1 the memory limit may never exceed the memory+swap limit, so the
// order of the writes matters.
func TestKernelSetLimit(t *testing.T) {
	self, ok := kernelParent(t)
	if !ok {
		return
	}
	g, err := self.Create(os.Getpid(), deadPid(t), 32<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Remove()
	for _, n := range []int64{64 << 20, 16 << 20, 48 << 20} {
		if err := g.setLimit(n); err != nil {
			t.Fatalf("setLimit(%d): %v", n, err)
		}
		file := "memory.limit_in_bytes"
		if self.V2 {
			file = "memory.max"
		}
		if b, _ := os.ReadFile(filepath.Join(g.Dir(), file)); strings.TrimSpace(string(b)) != fmt.Sprint(n) {
			t.Errorf("after setLimit(%d): %s = %q", n, file, b)
		}
	}
}

// TestKernelOOMKill puts a real process in a real group with a 32 MiB
// limit and lets it make 1 GiB resident: the kernel kills it, OOMKilled
// says so, and the group goes. A group made again for the same owner and
// pid starts with no OOM kill. On a machine where no group can be made it
// checks that Create fails with ErrUnavailable instead, which is the
// branch callers fall back on.
func TestKernelOOMKill(t *testing.T) {
	self, ok := kernelParent(t)
	if !ok {
		return
	}
	if self.SwapEscapes() {
		t.Skipf("cgroup v1 without swap accounting (no memory.memsw.limit_in_bytes in %s) and swap in /proc/swaps: "+
			"the process would swap instead of being OOM-killed", self.Dir)
	}
	// A leftover of an owner that died without removing it.
	dead := self.Group(deadPid(t), 1)
	if err := os.Mkdir(dead.Dir(), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dead.Remove() })

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), hogEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := new(strings.Builder)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	owner, pid := os.Getpid(), cmd.Process.Pid
	g, err := New(owner, pid, 32<<20)
	if err != nil {
		t.Fatalf("New: %v (a group could be made a moment ago)", err)
	}
	defer g.Remove()
	t.Logf("group %s (cgroup v2: %v)", g.Dir(), self.V2)
	if _, err := os.Stat(dead.Dir()); !os.IsNotExist(err) {
		t.Errorf("the leftover group %s of a dead owner is still there after New: %v", dead.Dir(), err)
	}
	if err := g.Add(pid); err != nil {
		t.Fatal(err)
	}
	if g.OOMKilled() {
		t.Fatal("OOMKilled before anything ran")
	}
	stdin.Write([]byte("go\n"))
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the process ended with %v, output %q; want SIGKILL from the OOM killer", err, out)
	}
	if !g.OOMKilled() {
		t.Error("OOMKilled() = false after the kernel killed the process")
	}
	// The pid used again by another process of the same owner: the new
	// group has nothing of the old.
	again, err := self.Create(owner, pid, 64<<20)
	if err != nil {
		t.Fatalf("Create for the same owner and pid: %v", err)
	}
	if again.OOMKilled() {
		t.Error("a group made again for the same pid has the old group's OOM kill")
	}
	if err := again.Remove(); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := os.Stat(g.Dir()); !os.IsNotExist(err) {
		t.Errorf("the group is still there after Remove: %v", err)
	}
}

func FuzzParseCgroup(f *testing.F) {
	f.Add([]byte(hybridCgroup))
	f.Add([]byte("0::/a/b\n"))
	f.Add([]byte("7:cpuacct,memory:/x\n0::/"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v1, v2, ok := parseCgroup(b)
		if ok != (v1 != "" || v2 != "") {
			t.Errorf("ok = %v with %q, %q", ok, v1, v2)
		}
	})
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add([]byte(hybridMounts))
	f.Add([]byte(`35 31 0:32 /docker/abc /sys/fs/cgroup/memory\040x ro - cgroup cgroup rw,memory` + "\n"))
	f.Add([]byte(`1 2 3 \ \1 \12 - a b c`))
	f.Add([]byte(`1 2 3 /a/.. /x/../.. rw - cgroup cgroup rw,memory`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range parseMountinfo(b) {
			for _, path := range []string{"/docker/abc/x", "/", "/docker/abc/../..", "/..a/../../b", m.root + "/../x"} {
				dir, ok := m.dir(path)
				if !ok {
					continue
				}
				rel, err := filepath.Rel(filepath.Clean(m.point), dir)
				if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
					t.Errorf("mount %+v: dir(%q) = %q, outside the mount point", m, path, dir)
				}
			}
		}
	})
}

func FuzzKeyed(f *testing.F) {
	f.Add([]byte("low 0\noom_kill 3\n"), "oom_kill")
	f.Add([]byte("oom_kill"), "oom_kill")
	f.Fuzz(func(t *testing.T, b []byte, key string) {
		keyed(b, key)
	})
}
