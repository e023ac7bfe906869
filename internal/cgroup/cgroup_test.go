package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	if g := p.Group(42); g.Dir() != filepath.Join(p.Dir, "mproc-42") {
		t.Errorf("Group(42).Dir() = %s", g.Dir())
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

// TestCreateSetsLimits checks which files Create writes, in a fake group
// whose files exist beforehand as the kernel would make them.
func TestCreateSetsLimits(t *testing.T) {
	t.Run("v1", func(t *testing.T) {
		dir := fakeRoot(t, map[string]string{"mproc-7/memory.limit_in_bytes": "", "mproc-7/memory.memsw.limit_in_bytes": ""})
		g, err := Parent{Dir: dir}.Create(7, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"memory.limit_in_bytes", "memory.memsw.limit_in_bytes"} {
			if b, _ := os.ReadFile(filepath.Join(g.Dir(), f)); string(b) != "1048576" {
				t.Errorf("%s = %q", f, b)
			}
		}
	})
	t.Run("v1 without swap accounting", func(t *testing.T) {
		dir := fakeRoot(t, map[string]string{"mproc-7/memory.limit_in_bytes": ""})
		if _, err := (Parent{Dir: dir}).Create(7, 1<<20); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("v2", func(t *testing.T) {
		dir := fakeRoot(t, map[string]string{"cgroup.subtree_control": "cpu memory\n", "mproc-7/memory.max": "", "mproc-7/memory.swap.max": ""})
		g, err := Parent{Dir: dir, V2: true}.Create(7, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for f, want := range map[string]string{"memory.max": "1048576", "memory.swap.max": "0"} {
			if b, _ := os.ReadFile(filepath.Join(g.Dir(), f)); string(b) != want {
				t.Errorf("%s = %q, want %q", f, b, want)
			}
		}
	})
	t.Run("v2 enables memory for children", func(t *testing.T) {
		dir := fakeRoot(t, map[string]string{"cgroup.subtree_control": "cpu\n", "mproc-7/memory.max": ""})
		if _, err := (Parent{Dir: dir, V2: true}).Create(7, 1<<20); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control")); string(b) != "+memory" {
			t.Errorf("cgroup.subtree_control got %q, want +memory", b)
		}
	})
	t.Run("v2 cannot enable memory", func(t *testing.T) {
		// The kernel's refusal (EBUSY: the cgroup has processes) stands in
		// as a directory, which no write can open.
		dir := fakeRoot(t, map[string]string{"cgroup.subtree_control/x": "", "mproc-7/memory.max": ""})
		if _, err := (Parent{Dir: dir, V2: true}).Create(7, 1<<20); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Create = %v, want ErrUnavailable", err)
		}
	})
	t.Run("not a cgroup", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := (Parent{Dir: dir}).Create(7, 1<<20); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Create = %v, want ErrUnavailable", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "mproc-7")); !os.IsNotExist(err) {
			t.Errorf("the failed group is left: %v", err)
		}
	})
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

func TestSweep(t *testing.T) {
	dead, self := deadPid(t), os.Getpid()
	dir := fakeRoot(t, map[string]string{
		fmt.Sprintf("mproc-%d/.keep", self): "",
		"mproc-x/.keep":                     "",
		"other/.keep":                       "",
	})
	for _, d := range []string{fmt.Sprintf("mproc-%d", dead), "mproc-999999999"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	Parent{Dir: dir}.Sweep()
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{fmt.Sprintf("mproc-%d", self), "mproc-x", "other"}
	if strings.Join(left, " ") != strings.Join(want, " ") {
		t.Errorf("after Sweep: %v, want %v (the groups of dead pids removed)", left, want)
	}
}

// TestKernelOOMKill puts a real process in a real group with a 32 MiB
// limit and lets it make 1 GiB resident: the kernel kills it, OOMKilled
// says so, and the group goes. On a machine without a writable memory
// cgroup it checks that New fails with ErrUnavailable instead, which is
// the branch callers fall back on.
func TestKernelOOMKill(t *testing.T) {
	self, err := Self()
	if err != nil {
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Self = %v, want ErrUnavailable when there is no memory cgroup", err)
		}
		t.Logf("no memory cgroup here (%v): callers fall back to RLIMIT_DATA", err)
		return
	}
	// A leftover of a process that died without removing it.
	dead := self.Group(deadPid(t))
	if err := os.Mkdir(dead.Dir(), 0o755); err != nil {
		_, err := self.Create(os.Getpid(), 1<<30)
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("mkdir in %s failed but Create = %v, want ErrUnavailable", self.Dir, err)
		}
		t.Logf("memory cgroup %s is not writable (%v): callers fall back to RLIMIT_DATA", self.Dir, err)
		return
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
	defer cmd.Process.Kill()
	g, err := New(cmd.Process.Pid, 32<<20)
	if err != nil {
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("New = %v, want ErrUnavailable as the only failure", err)
		}
		t.Fatalf("New: %v (the group of a dead pid could be made, so this should work)", err)
	}
	t.Logf("group %s (cgroup v2: %v)", g.Dir(), self.V2)
	if _, err := os.Stat(dead.Dir()); !os.IsNotExist(err) {
		t.Errorf("the leftover group %s of a dead pid is still there after New: %v", dead.Dir(), err)
	}
	if err := g.Add(cmd.Process.Pid); err != nil {
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
	if err := g.Remove(); err != nil {
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
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range parseMountinfo(b) {
			m.dir("/docker/abc/x")
			m.dir("/")
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
