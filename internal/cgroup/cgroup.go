// Package cgroup gives a process a Linux memory cgroup of its own, so that
// a hard memory limit covers everything the process makes resident —
// including shared mappings and the processes it starts, which
// RLIMIT_DATA misses — and tells afterwards whether the kernel's OOM
// killer acted inside it.
//
// The group is a child of the memory cgroup the calling process is in,
// named "mproc-OWNER-PID": PID is the process it is for, OWNER the process
// that will read and remove it (for a worker, its parent, the pool). A
// group is never reused: Create fails rather than take over a group of
// that name it cannot remove, so a group's OOM count and processes are
// only ever those of its one process.
//
// With cgroup v2 it sets memory.max, memory.swap.max to 0 (so swap does
// not dodge the limit) and memory.oom.group to 1: an OOM kill in the group
// kills every process in it, so a count of OOM kills means the process the
// group is for was killed too. With cgroup v1, memory.limit_in_bytes and,
// when swap is accounted, memory.memsw.limit_in_bytes to the same value;
// v1 has no group kill, so an OOM count there may be of another process in
// the group (one the process started). Without memsw accounting (the
// kernel's swapaccount=0) v1 cannot stop a group from swapping, and swap
// escapes the limit. A v1 hierarchy with memory.use_hierarchy 0 (old
// kernels) would let a child group escape its parent's limit: Create
// refuses it.
//
// Cgroup v2 forbids a cgroup with processes in it from handing controllers
// to its children (the "no internal processes" rule; the root cgroup is
// exempt). In practice v2 is therefore used only where "memory" is already
// delegated to the children of the calling process's cgroup: the root
// cgroup, or a cgroup set up for it (a delegated cgroup whose
// cgroup.subtree_control lists "memory" and that holds no process). In
// any other v2 cgroup writing "+memory" to cgroup.subtree_control fails
// (EBUSY) and Create returns ErrUnavailable: the caller does with
// RLIMIT_DATA only. This package never moves the calling process or
// creates cgroups outside its own, which would escape the limits an
// administrator set on it.
//
// A process killed by SIGKILL cannot remove the groups it owns. Create
// first sweeps the groups of owners that no longer exist; the groups of a
// live owner are left to it, so an owner can read a dead process's OOM
// count before it removes the group.
package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
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

// New creates the group for pid, owned by owner, under this process's
// memory cgroup, with a limit of limit bytes. It does not move pid into
// it; see Group.Add.
func New(owner, pid int, limit int64) (*Group, error) {
	p, err := Self()
	if err != nil {
		return nil, err
	}
	return p.Create(owner, pid, limit)
}

// Lookup returns the group of pid owned by owner under this process's
// memory cgroup, or an error wrapping fs.ErrNotExist if there is none.
func Lookup(owner, pid int) (*Group, error) {
	p, err := Self()
	if err != nil {
		return nil, err
	}
	g := p.Group(owner, pid)
	if _, err := os.Stat(g.dir); err != nil {
		return nil, err
	}
	return g, nil
}

// Group returns the group of pid owned by owner under p, whether or not it
// exists.
func (p Parent) Group(owner, pid int) *Group {
	return &Group{dir: filepath.Join(p.Dir, name(owner, pid)), v2: p.V2}
}

// name is the name of the group of pid owned by owner.
func name(owner, pid int) string {
	return prefix + strconv.Itoa(owner) + "-" + strconv.Itoa(pid)
}

// parseName returns the owner and pid of a group's name, if it is one of
// this package's.
func parseName(s string) (owner, pid int, ok bool) {
	s, ok = strings.CutPrefix(s, prefix)
	if !ok {
		return 0, 0, false
	}
	o, w, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, false
	}
	owner, err1 := strconv.Atoi(o)
	pid, err2 := strconv.Atoi(w)
	if err1 != nil || err2 != nil || owner <= 0 || pid <= 0 {
		return 0, 0, false
	}
	return owner, pid, true
}

// Create removes the leftover groups of owners that no longer exist, then
// creates the group of pid owned by owner, with a limit of limit bytes. A
// group of that name that exists already (a pid used again) is removed
// first, never reused; if it cannot be (a process is still in it), Create
// fails. Every error wraps ErrUnavailable: the caller has to do without.
func (p Parent) Create(owner, pid int, limit int64) (*Group, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%w: limit %d is not positive", ErrUnavailable, limit)
	}
	p.Sweep()
	if p.V2 {
		if err := enableMemory(p.Dir); err != nil {
			return nil, err
		}
	} else if err := hierarchical(p.Dir); err != nil {
		return nil, err
	}
	g := p.Group(owner, pid)
	err := mkdir(g.dir)
	if errors.Is(err, fs.ErrExist) {
		// Another process of the same owner and pid made it, long ago:
		// its OOM count and any process left in it are not ours.
		if rerr := g.Remove(); rerr != nil {
			return nil, fmt.Errorf("%w: %s exists and cannot be removed: %w", ErrUnavailable, g.dir, rerr)
		}
		err = mkdir(g.dir)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if err := g.setLimit(limit); err != nil {
		g.Remove()
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return g, nil
}

// mkdir makes a group's directory; the kernel fills it with the group's
// files. Tests replace it to do the same in a fake hierarchy.
var mkdir = func(dir string) error { return os.Mkdir(dir, 0o755) }

// SwapEscapes reports whether swap escapes the limits of the groups made
// under p: cgroup v1 without swap accounting (no memory.memsw files, the
// kernel's swapaccount=0) on a machine with swap in use (/proc/swaps lists
// a device or file). A group's processes can then go past its limit into
// swap instead of being OOM-killed.
func (p Parent) SwapEscapes() bool { return p.swapEscapes("/proc/swaps") }

func (p Parent) swapEscapes(swaps string) bool {
	if p.V2 {
		return false // memory.swap.max is set to 0
	}
	if _, err := os.Stat(filepath.Join(p.Dir, "memory.memsw.limit_in_bytes")); err == nil {
		return false
	}
	b, err := os.ReadFile(swaps)
	if err != nil {
		return false
	}
	// A header line, then one line per swap area.
	return len(bytes.Split(bytes.TrimSpace(b), []byte("\n"))) > 1
}

// hierarchical checks that children of the v1 memory cgroup dir are held
// to its limit: memory.use_hierarchy is 1, or absent (kernels that always
// account hierarchically).
func hierarchical(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "memory.use_hierarchy"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if v := strings.TrimSpace(string(b)); v != "1" {
		return fmt.Errorf("%w: %s/memory.use_hierarchy is %q: a child group would escape the limits of %s", ErrUnavailable, dir, v, dir)
	}
	return nil
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
	if g.v2 {
		if err := g.write("memory.max", n); err != nil {
			return err
		}
		// In v2 swap has a limit of its own: none at all.
		if err := g.write("memory.swap.max", []byte("0")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		// An OOM kill in the group kills all of it (Linux 4.19 and later),
		// so that the OOM count says the process itself was killed.
		if err := g.write("memory.oom.group", []byte("1")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	// In v1 the kernel refuses (EINVAL) a memory limit above the memory
	// plus swap limit, and a memory plus swap limit below the memory
	// limit. Lifting memsw first, then setting the memory limit, then
	// memsw, works whatever the group's values were.
	const memsw = "memory.memsw.limit_in_bytes"
	err := g.write(memsw, []byte("-1"))
	hasMemsw := !errors.Is(err, fs.ErrNotExist)
	if err != nil && hasMemsw {
		return err
	}
	if err := g.write("memory.limit_in_bytes", n); err != nil {
		return err
	}
	if hasMemsw {
		return g.write(memsw, n)
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
//
// Which process was killed the count does not say. With v2 and
// memory.oom.group (which Create sets), a kill takes every process of the
// group, so the group's own process was among them. With v1, or a v2
// kernel without memory.oom.group (before 4.19), the victim may have been
// another process in the group, one the group's process started, and the
// group's process may have died later of something else.
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

// Remove removes the group, and first the empty groups of this package
// below it (those of processes it started, depth first). The kernel
// refuses while a process is still in the group or below it (a process
// the group's process started may outlive it); the owner may try again.
func (g *Group) Remove() error {
	if err := removeTree(g.dir); err != nil {
		return fmt.Errorf("cgroup: removing %s: %w", g.dir, err)
	}
	return nil
}

// removeTree removes the cgroup dir after the groups of this package below
// it, depth first. It returns nil if dir does not exist.
func removeTree(dir string) error {
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if _, _, ok := parseName(e.Name()); ok && e.IsDir() {
				removeTree(filepath.Join(dir, e.Name()))
			}
		}
	}
	if err := unix.Rmdir(dir); err != nil && err != unix.ENOENT {
		return err
	}
	return nil
}

// Sweep removes the groups under p whose owners no longer exist, with the
// groups below them. The groups of a live owner are its own to remove,
// also those of its dead processes: it may not have read their OOM counts
// yet. The kernel refuses to remove a group that still has processes in
// it; it stays until a later sweep. An owner's pid used again by another
// process only delays the sweep.
func (p Parent) Sweep() {
	entries, err := os.ReadDir(p.Dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		owner, _, ok := parseName(e.Name())
		if !ok || !e.IsDir() {
			continue
		}
		if unix.Kill(owner, 0) == unix.ESRCH {
			removeTree(filepath.Join(p.Dir, e.Name()))
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
	// The same hierarchy may be mounted more than once (a container's
	// read-only view beside a writable one): writable mounts are tried
	// first.
	mounts := parseMountinfo(mi)
	slices.SortStableFunc(mounts, func(a, b mount) int {
		switch {
		case a.rw == b.rw:
			return 0
		case a.rw:
			return -1
		}
		return 1
	})
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
	rw     bool   // mounted read-write
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
	for e := range strings.SplitSeq(rel, "/") {
		if e == ".." {
			return "", false // outside this cgroup namespace
		}
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
		ms = append(ms, mount{root: unescape(l[3]), point: unescape(l[4]), fstype: r[0], super: r[2],
			rw: hasOption(l[5], "rw") && !hasOption(r[2], "ro")})
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
