// Package cgroup gives a process a Linux memory cgroup of its own, so that
// a hard memory limit covers everything the process makes resident —
// including shared mappings and the processes it starts, which
// RLIMIT_DATA misses — and tells afterwards whether the kernel's OOM
// killer acted inside it.
//
// The group is a child of the memory cgroup this process is in, named
// "mproc-PID" after the process it is for. With cgroup v2 it sets
// memory.max (and memory.swap.max to 0, so swap does not dodge the limit);
// with cgroup v1, memory.limit_in_bytes (and memory.memsw.limit_in_bytes
// to the same value when swap accounting exists).
//
// Cgroup v2 forbids a cgroup with processes in it from handing controllers
// to its children (the "no internal processes" rule; the root cgroup is
// exempt). A process in a non-root v2 cgroup therefore cannot give a child
// of its own cgroup a memory limit unless "memory" is already in that
// cgroup's cgroup.subtree_control. This package uses v2 only when that is
// so or when writing "+memory" there succeeds; otherwise Create fails and
// the caller falls back to other limits. It never moves the calling process
// or creates cgroups outside its own, which would escape the limits an
// administrator set on it.
//
// A process killed by SIGKILL cannot remove the groups of its workers.
// Create removes the empty "mproc-PID" siblings of processes that no longer
// exist before it makes a new one.
package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrUnavailable is returned when this process has no memory cgroup it can
// make children in.
var ErrUnavailable = errors.New("cgroup: no usable memory cgroup")

// prefix starts the name of every group this package creates.
const prefix = "mproc-"

// A Parent is the memory cgroup a process is in, under which its
// per-process groups are made.
type Parent struct {
	Dir string // the cgroup's directory in the cgroup file system
	V2  bool   // whether it is a cgroup v2 (unified) hierarchy
}

// A Group is the memory cgroup of one process.
type Group struct {
	dir string
	v2  bool
}

// Self finds the memory cgroup this process is in, preferring cgroup v2
// when its memory controller is available.
func Self() (Parent, error) { return find("/") }

// New creates the group for pid under this process's memory cgroup, with
// a limit of limit bytes. It does not move pid into it; see Group.Add.
func New(pid int, limit int64) (*Group, error) {
	p, err := Self()
	if err != nil {
		return nil, err
	}
	return p.Create(pid, limit)
}

// Lookup returns the group New made for pid under this process's memory
// cgroup, or an error wrapping fs.ErrNotExist if there is none.
func Lookup(pid int) (*Group, error) {
	p, err := Self()
	if err != nil {
		return nil, err
	}
	g := p.Group(pid)
	if _, err := os.Stat(g.dir); err != nil {
		return nil, err
	}
	return g, nil
}

// Group returns the group for pid under p, whether or not it exists.
func (p Parent) Group(pid int) *Group {
	return &Group{dir: filepath.Join(p.Dir, prefix+strconv.Itoa(pid)), v2: p.V2}
}

// Create removes the leftover groups of processes that no longer exist,
// then creates the group for pid with a limit of limit bytes. A group of
// that name that already exists is reused. Every error wraps
// ErrUnavailable: the caller has to do without.
func (p Parent) Create(pid int, limit int64) (*Group, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("cgroup: limit %d is not positive", limit)
	}
	p.Sweep()
	if p.V2 {
		if err := enableMemory(p.Dir); err != nil {
			return nil, err
		}
	}
	g := p.Group(pid)
	if err := os.Mkdir(g.dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if err := g.setLimit(limit); err != nil {
		g.Remove()
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return g, nil
}

// enableMemory makes sure children of the v2 cgroup dir get the memory
// controller.
func enableMemory(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if hasWord(string(b), "memory") {
		return nil
	}
	// The kernel refuses (EBUSY) while dir has processes of its own, which
	// it does when it is this process's cgroup, unless it is the root.
	if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+memory"), 0); err != nil {
		return fmt.Errorf("%w: cannot enable the memory controller for children of %s: %w", ErrUnavailable, dir, err)
	}
	return nil
}

func (g *Group) setLimit(limit int64) error {
	n := []byte(strconv.FormatInt(limit, 10))
	hard, swap := "memory.limit_in_bytes", "memory.memsw.limit_in_bytes"
	if g.v2 {
		hard, swap = "memory.max", "memory.swap.max"
		// In v2 the swap limit is separate from memory.max: none at all.
		n2 := []byte("0")
		if err := g.write(hard, n); err != nil {
			return err
		}
		if err := g.write(swap, n2); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	// In v1 memsw counts memory plus swap and may not be below the memory
	// limit, so it is set second.
	if err := g.write(hard, n); err != nil {
		return err
	}
	if err := g.write(swap, n); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (g *Group) write(name string, b []byte) error {
	f, err := os.OpenFile(filepath.Join(g.dir, name), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cgroup: writing %s to %s: %w", b, f.Name(), err)
	}
	return nil
}

// Dir returns the group's directory.
func (g *Group) Dir() string { return g.dir }

// Add moves the process pid, with all its threads, into the group. Memory
// it already uses stays charged where it was; what it allocates from now
// on, and the processes it starts, count against the group's limit.
func (g *Group) Add(pid int) error {
	return g.write("cgroup.procs", []byte(strconv.Itoa(pid)))
}

// OOMKilled reports whether the kernel's OOM killer killed a process of
// the group because the group reached its limit: the "oom_kill" count of
// memory.events (v2) or memory.oom_control (v1). On a v1 kernel too old to
// count OOM kills (before Linux 4.13) it reports whether the group ever
// hit its limit (memory.failcnt), which also counts reclaim that
// succeeded.
func (g *Group) OOMKilled() bool {
	if g.v2 {
		n, ok := g.key("memory.events", "oom_kill")
		return ok && n > 0
	}
	if n, ok := g.key("memory.oom_control", "oom_kill"); ok {
		return n > 0
	}
	b, err := os.ReadFile(filepath.Join(g.dir, "memory.failcnt"))
	if err != nil {
		return false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return err == nil && n > 0
}

// key returns the value of key in a flat keyed file such as memory.events.
func (g *Group) key(file, key string) (uint64, bool) {
	b, err := os.ReadFile(filepath.Join(g.dir, file))
	if err != nil {
		return 0, false
	}
	return keyed(b, key)
}

// keyed parses "key value" lines and returns the value of key.
func keyed(b []byte, key string) (uint64, bool) {
	for line := range bytes.Lines(b) {
		k, v, ok := strings.Cut(strings.TrimSpace(string(line)), " ")
		if !ok || k != key {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// Remove removes the group. The kernel refuses while a process is still in
// it (a process the group's owner started may outlive it); Sweep removes
// such a group once it is empty.
func (g *Group) Remove() error {
	if err := unix.Rmdir(g.dir); err != nil && err != unix.ENOENT {
		return fmt.Errorf("cgroup: removing %s: %w", g.dir, err)
	}
	return nil
}

// Sweep removes the groups under p of processes that no longer exist.
// The kernel refuses to remove one that still has processes in it; those
// stay until a later sweep.
func (p Parent) Sweep() {
	entries, err := os.ReadDir(p.Dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		s, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !e.IsDir() {
			continue
		}
		pid, err := strconv.Atoi(s)
		if err != nil || pid <= 0 {
			continue
		}
		// A live pid's group may be in use or about to be (created, not
		// yet joined); a reused pid only delays the sweep.
		if unix.Kill(pid, 0) == unix.ESRCH {
			unix.Rmdir(filepath.Join(p.Dir, e.Name()))
		}
	}
}

// find finds the memory cgroup of this process in the file system rooted
// at root, from root/proc/self/cgroup and root/proc/self/mountinfo.
func find(root string) (Parent, error) {
	cg, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return Parent{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	mi, err := os.ReadFile(filepath.Join(root, "proc/self/mountinfo"))
	if err != nil {
		return Parent{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	v1, v2, _ := parseCgroup(cg)
	mounts := parseMountinfo(mi)
	if v2 != "" {
		for _, m := range mounts {
			if m.fstype != "cgroup2" {
				continue
			}
			dir, ok := m.dir(v2)
			if !ok {
				continue
			}
			dir = filepath.Join(root, dir)
			if b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers")); err == nil && hasWord(string(b), "memory") {
				return Parent{Dir: dir, V2: true}, nil
			}
		}
	}
	if v1 != "" {
		for _, m := range mounts {
			if m.fstype != "cgroup" || !hasOption(m.super, "memory") {
				continue
			}
			if dir, ok := m.dir(v1); ok {
				return Parent{Dir: filepath.Join(root, dir)}, nil
			}
		}
	}
	return Parent{}, ErrUnavailable
}

// parseCgroup returns the memory controller's path (v1) and the unified
// hierarchy's path (v2) from the content of /proc/PID/cgroup, lines of
// "hierarchy-ID:controller-list:path".
func parseCgroup(b []byte) (v1, v2 string, ok bool) {
	for line := range bytes.Lines(b) {
		f := strings.SplitN(strings.TrimRight(string(line), "\n"), ":", 3)
		if len(f) != 3 || !strings.HasPrefix(f[2], "/") {
			continue
		}
		if f[0] == "0" && f[1] == "" {
			v2 = f[2]
			continue
		}
		if hasOption(f[1], "memory") {
			v1 = f[2]
		}
	}
	return v1, v2, v1 != "" || v2 != ""
}

// A mount is a line of /proc/PID/mountinfo.
type mount struct {
	root   string // the path in the file system that is mounted
	point  string // where
	fstype string
	super  string // super block options
}

// dir returns the directory of the cgroup at path (as /proc/PID/cgroup
// shows it) under the mount, if the mount shows it.
func (m mount) dir(path string) (string, bool) {
	rel := path
	if m.root != "/" {
		r, ok := strings.CutPrefix(path, m.root)
		if !ok || (r != "" && !strings.HasPrefix(r, "/")) {
			return "", false
		}
		rel = r
	}
	if strings.Contains(rel, "/..") {
		return "", false // outside this cgroup namespace
	}
	return filepath.Join(m.point, rel), true
}

// parseMountinfo parses /proc/PID/mountinfo (proc(5)): "ID parent-ID
// major:minor root mount-point options [optional fields...] - fstype
// source super-options".
func parseMountinfo(b []byte) []mount {
	var ms []mount
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		left, right, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		l, r := strings.Fields(left), strings.Fields(right)
		if len(l) < 6 || len(r) < 3 {
			continue
		}
		ms = append(ms, mount{root: unescape(l[3]), point: unescape(l[4]), fstype: r[0], super: r[2]})
	}
	return ms
}

// unescape undoes the octal escapes (\040 for a space) of mountinfo.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// hasWord reports whether the space-separated list s holds w.
func hasWord(s, w string) bool {
	for f := range strings.FieldsSeq(s) {
		if f == w {
			return true
		}
	}
	return false
}

// hasOption reports whether the comma-separated list s holds w.
func hasOption(s, w string) bool {
	for f := range strings.SplitSeq(s, ",") {
		if f == w {
			return true
		}
	}
	return false
}
