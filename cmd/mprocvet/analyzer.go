package main

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"os"
	"sort"
	"strings"

	"github.com/mproc-go/mproc/internal/sendable"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
)

// Analyzer reports what mproc's calls cannot send.
var Analyzer = &analysis.Analyzer{
	Name:     "mprocvet",
	Doc:      "report functions and values that mproc cannot send to another process\n\nIt checks the function and the inputs given to mproc.Map, Imap, ImapUnordered, Submit, Start, Initializer, Call, Queue.Put, Queue.PutMany, PipeEnd.Send, Shared.Store, SharedMap.Set, SharedList.Append and SharedList.Set, and the values given to codec.Marshal.",
	URL:      "https://github.com/mproc-go/mproc/blob/main/docs/what-gets-sent.md",
	Requires: []*analysis.Analyzer{inspect.Analyzer},
	Run:      run,
}

// stats, the -stats flag, prints to standard error, per package, how
// many calls that send it checked and how many reports it made.
var stats bool

func init() {
	Analyzer.Flags.BoolVar(&stats, "stats", false, "print per package the number of calls that send checked and of reports, to standard error")
}

const (
	mprocPath = "github.com/mproc-go/mproc"
	codecPath = "github.com/mproc-go/mproc/codec"
)

// A sender is a call that sends a function and values to another
// process. fn is the index of the function argument (-1: none); values
// are the indexes of arguments sent by value, and variadic says that every
// argument from the last index on is; bytes says the destination is bytes,
// which cannot carry handles either.
type sender struct {
	pkg, recv, name string
	fn              int
	values          []int
	variadic        bool
	bytes           bool
	// seqIn: the inputs come from a sequence; their type is the
	// function's input parameter.
	seqIn bool
}

// senders lists the calls checked; a new call that sends is one line.
var senders = []sender{
	{pkg: mprocPath, name: "Map", fn: 2, values: []int{3}},
	{pkg: mprocPath, name: "Imap", fn: 2, seqIn: true},
	{pkg: mprocPath, name: "ImapUnordered", fn: 2, seqIn: true},
	{pkg: mprocPath, name: "Submit", fn: 2, values: []int{3}},
	{pkg: mprocPath, name: "Start", fn: 1, values: []int{2}},
	{pkg: mprocPath, name: "Initializer", fn: 0, values: []int{1}},
	{pkg: mprocPath, name: "Call", fn: 2, values: []int{3}},
	{pkg: mprocPath, recv: "Queue", name: "Put", fn: -1, values: []int{1}},
	{pkg: mprocPath, recv: "Queue", name: "PutMany", fn: -1, values: []int{1}, variadic: true},
	{pkg: mprocPath, recv: "PipeEnd", name: "Send", fn: -1, values: []int{1}},
	{pkg: mprocPath, recv: "Shared", name: "Store", fn: -1, values: []int{1}},
	{pkg: mprocPath, recv: "SharedMap", name: "Set", fn: -1, values: []int{1, 2}},
	{pkg: mprocPath, recv: "SharedList", name: "Append", fn: -1, values: []int{1}, variadic: true},
	{pkg: mprocPath, recv: "SharedList", name: "Set", fn: -1, values: []int{2}},
	{pkg: codecPath, name: "Marshal", fn: -1, values: []int{0}, bytes: true},
}

func run(orig *analysis.Pass) (any, error) {
	checked, reported := 0, 0
	pass := *orig // a copy that counts its reports
	pass.Report = func(d analysis.Diagnostic) { reported++; orig.Report(d) }
	if stats {
		defer func() {
			fmt.Fprintf(os.Stderr, "mprocvet: %s: %d calls that send checked, %d reports\n", pass.Pkg.Path(), checked, reported)
		}()
	}
	return check(&pass, &checked)
}

func check(pass *analysis.Pass, checked *int) (any, error) {
	ins := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)
	fx := newFixer(pass)
	ins.Preorder([]ast.Node{(*ast.CallExpr)(nil)}, func(n ast.Node) {
		call := n.(*ast.CallExpr)
		s, ok := senderOf(pass, call)
		if !ok {
			return
		}
		*checked++
		what := s.name
		if s.recv != "" {
			what = s.recv + "." + s.name
		}
		pkgName := "mproc."
		if s.pkg == codecPath {
			pkgName = "codec."
		}
		what = pkgName + what
		if s.fn >= 0 && s.fn < len(call.Args) {
			// The input a suggested fix may fold captures into: one value,
			// or Map's slice of them; none for a sequence.
			var input ast.Expr
			if len(s.values) == 1 && !s.variadic && s.values[0] < len(call.Args) {
				input = call.Args[s.values[0]]
			}
			checkFunc(pass, fx, what, call.Args[s.fn], input, s.name == "Map")
		}
		if s.seqIn && s.fn < len(call.Args) {
			if fsig, ok := pass.TypesInfo.TypeOf(call.Args[s.fn]).(*types.Signature); ok && fsig.Params().Len() == 2 {
				if p, ok := unsendable(fsig.Params().At(1).Type(), false); ok {
					pass.Reportf(call.Args[s.fn].Pos(), "%s sends each input of the sequence to another process, and its type %s: %s cannot travel: %s; fix: %s",
						what, types.TypeString(fsig.Params().At(1).Type(), types.RelativeTo(pass.Pkg)), p.where(), p.leaf.Reason, p.leaf.Fix)
				}
			}
		}
		// The parameters' types at this call, type arguments applied: what
		// the codec will be handed, whatever the argument expression is
		// (nil, an untyped constant...).
		sig, _ := pass.TypesInfo.TypeOf(call.Fun).(*types.Signature)
		for _, i := range s.values {
			last := i + 1
			if s.variadic {
				last = len(call.Args)
			}
			for k := i; k < last && k < len(call.Args); k++ {
				arg := call.Args[k]
				t := paramType(sig, k, call.Ellipsis.IsValid())
				if t == nil {
					t = pass.TypesInfo.TypeOf(arg)
				}
				if t == nil {
					continue
				}
				if p, ok := unsendable(t, s.bytes); ok {
					verb := "sends %s to another process"
					if s.bytes {
						verb = "encodes %s to bytes"
					}
					pass.Reportf(arg.Pos(), "%s "+verb+", and %s cannot travel: %s; fix: %s",
						what, describe(arg), p.where(), p.leaf.Reason, p.leaf.Fix)
				}
			}
		}
	})
	return nil, nil
}

// paramType returns the type of argument k's parameter in sig (an
// element of the variadic slice, unless spread with ...), nil if unknown.
// An interface parameter (codec.Marshal's any) says nothing: nil.
func paramType(sig *types.Signature, k int, spread bool) types.Type {
	if sig == nil || sig.Params().Len() == 0 {
		return nil
	}
	ps := sig.Params()
	var t types.Type
	if k < ps.Len()-1 || !sig.Variadic() && k < ps.Len() {
		t = ps.At(k).Type()
	} else if sig.Variadic() {
		t = ps.At(ps.Len() - 1).Type()
		if !spread {
			t = t.(*types.Slice).Elem()
		}
	}
	if t == nil || types.IsInterface(t) {
		return nil
	}
	return t
}

// senderOf reports whether call is one of the senders.
func senderOf(pass *analysis.Pass, call *ast.CallExpr) (sender, bool) {
	fun := ast.Unparen(call.Fun)
	if ix, ok := fun.(*ast.IndexExpr); ok { // mproc.Map[In, Out](...)
		fun = ix.X
	} else if ix, ok := fun.(*ast.IndexListExpr); ok {
		fun = ix.X
	}
	var obj types.Object
	switch f := fun.(type) {
	case *ast.Ident:
		obj = pass.TypesInfo.Uses[f]
	case *ast.SelectorExpr:
		obj = pass.TypesInfo.Uses[f.Sel]
	}
	fn, ok := obj.(*types.Func)
	if !ok || fn.Pkg() == nil {
		return sender{}, false
	}
	recv := ""
	if sig, ok := fn.Type().(*types.Signature); ok && sig.Recv() != nil {
		t := sig.Recv().Type()
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		if n, ok := t.(*types.Named); ok {
			recv = n.Obj().Name()
		}
	}
	for _, s := range senders {
		if s.pkg == fn.Pkg().Path() && s.name == fn.Name() && s.recv == recv {
			return s, true
		}
	}
	return sender{}, false
}

// checkFunc reports a function argument that cannot travel by reference,
// with a suggested fix where one is mechanical; input is the call's input
// (a slice of them with slice), nil when a fix cannot fold captures into it.
func checkFunc(pass *analysis.Pass, fx *fixer, what string, arg, input ast.Expr, slice bool) {
	arg = ast.Unparen(arg)
	// mproc.Plain(f) sends f.
	if call, ok := arg.(*ast.CallExpr); ok && len(call.Args) == 1 {
		if id := calleeName(pass, call); id == mprocPath+".Plain" {
			checkFunc(pass, fx, what, call.Args[0], input, slice)
			return
		}
	}
	switch f := arg.(type) {
	case *ast.FuncLit:
		if vars := captures(pass, f); len(vars) > 0 {
			var names []string
			for _, v := range vars {
				names = append(names, v.Name())
			}
			d := analysis.Diagnostic{Pos: f.Pos(), Message: fmt.Sprintf("%s sends this func literal by reference, but it captures %s, which would stay in this process; fix: make it a top-level function and pass %s in its input",
				what, strings.Join(names, ", "), strings.Join(names, ", "))}
			if fix, ok := fx.captureFix(f, vars, input, slice); ok {
				d.SuggestedFixes = []analysis.SuggestedFix{fix}
			}
			pass.Report(d)
		}
	case *ast.SelectorExpr:
		sel := pass.TypesInfo.Selections[f]
		if sel == nil || sel.Kind() != types.MethodVal {
			return
		}
		recv := sel.Recv()
		if p, ok := unsendable(recv, false); ok {
			d := analysis.Diagnostic{Pos: f.Pos(), Message: fmt.Sprintf("%s sends method value %s with its receiver, and %s cannot travel: %s; fix: pass the method expression (%s).%s and send what the method needs as its input",
				what, types.ExprString(f), p.whereIn("the receiver"), p.leaf.Reason, types.TypeString(recv, types.RelativeTo(pass.Pkg)), f.Sel.Name)}
			if fix, ok := fx.methodFix(f, p.whereIn("the receiver")+" cannot travel"); ok {
				d.SuggestedFixes = []analysis.SuggestedFix{fix}
			}
			pass.Report(d)
		}
	}
}

func calleeName(pass *analysis.Pass, call *ast.CallExpr) string {
	fun := ast.Unparen(call.Fun)
	if ix, ok := fun.(*ast.IndexListExpr); ok {
		fun = ix.X
	} else if ix, ok := fun.(*ast.IndexExpr); ok {
		fun = ix.X
	}
	var obj types.Object
	switch f := fun.(type) {
	case *ast.Ident:
		obj = pass.TypesInfo.Uses[f]
	case *ast.SelectorExpr:
		obj = pass.TypesInfo.Uses[f.Sel]
	}
	if fn, ok := obj.(*types.Func); ok && fn.Pkg() != nil {
		return fn.Pkg().Path() + "." + fn.Name()
	}
	return ""
}

// captures returns the variables a func literal uses that are declared
// outside it and are not package-level, its closure's captured
// variables, by name.
func captures(pass *analysis.Pass, lit *ast.FuncLit) []*types.Var {
	seen := map[string]*types.Var{}
	ast.Inspect(lit.Body, func(n ast.Node) bool {
		id, ok := n.(*ast.Ident)
		if !ok {
			return true
		}
		v, ok := pass.TypesInfo.Uses[id].(*types.Var)
		if !ok || v.IsField() || v.Pkg() == nil {
			return true
		}
		if v.Parent() == v.Pkg().Scope() || v.Parent() == types.Universe {
			return true // package-level: the worker has its own
		}
		if within(v.Pos(), lit) {
			return true // declared in the literal, or its parameter
		}
		seen[v.Name()] = v
		return true
	})
	vars := make([]*types.Var, 0, len(seen))
	for _, v := range seen {
		vars = append(vars, v)
	}
	sort.Slice(vars, func(i, j int) bool { return vars[i].Name() < vars[j].Name() })
	return vars
}

func within(p token.Pos, n ast.Node) bool { return p >= n.Pos() && p < n.End() }

// describe names an argument for a report.
func describe(e ast.Expr) string {
	s := types.ExprString(e)
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

// A problem is a part of a type that cannot travel.
type problem struct {
	path string
	typ  string
	leaf sendable.Leaf
}

func (p problem) where() string { return p.whereIn("it") }

func (p problem) whereIn(root string) string {
	if p.path == "" {
		return fmt.Sprintf("%s (a %s)", root, p.typ)
	}
	return fmt.Sprintf("%s at %s (a %s)", root, p.path, p.typ)
}

// unsendable reports the first part of t that can never travel, with its
// path as codec.Check prints a type's ([*] for any element, [*key] for
// any key). Interfaces and funcs are not looked into: what they hold is
// known at run time. Types that marshal themselves are not looked into
// either. bytes adds the handles, which only bytes cannot carry.
func unsendable(t types.Type, bytes bool) (problem, bool) {
	return walk(t, "", bytes, map[types.Type]bool{})
}

func walk(t types.Type, path string, bytes bool, seen map[types.Type]bool) (problem, bool) {
	if seen[t] {
		return problem{}, false
	}
	seen[t] = true
	if n, ok := types.Unalias(t).(*types.Named); ok && n.Obj().Pkg() != nil {
		name := n.Obj().Name()
		if n.TypeArgs().Len() > 0 {
			name += "["
		}
		if l, bad := sendable.Named(n.Obj().Pkg().Path(), name); bad {
			return problem{path, types.TypeString(t, nil), l}, true
		}
		if marshalsItself(n) {
			return problem{}, false
		}
	}
	if p, ok := types.Unalias(t).(*types.Pointer); ok {
		if handle(p) {
			if bytes {
				return problem{path, types.TypeString(t, nil), sendable.Leaf{
					Reason: "it is a handle (an open file, a queue, a pipe end, shared memory): a duplicated descriptor, which only a connection between processes of this machine can pass; bytes cannot carry it",
					Fix:    "pass it through mproc's calls, which send it as a handle"}}, true
			}
			return problem{}, false
		}
	}
	switch u := t.Underlying().(type) {
	case *types.Chan:
		return problem{path, types.TypeString(t, nil), sendable.Chan}, true
	case *types.Basic:
		if u.Kind() == types.UnsafePointer {
			return problem{path, types.TypeString(t, nil), sendable.UnsafePointer}, true
		}
	case *types.Pointer:
		return walk(u.Elem(), path, bytes, seen)
	case *types.Slice:
		return walk(u.Elem(), path+"[*]", bytes, seen)
	case *types.Array:
		return walk(u.Elem(), path+"[*]", bytes, seen)
	case *types.Map:
		if p, ok := walk(u.Key(), path+"[*key]", bytes, seen); ok {
			return p, true
		}
		return walk(u.Elem(), path+"[*]", bytes, seen)
	case *types.Struct:
		for i := range u.NumFields() {
			f := u.Field(i)
			if p, ok := walk(f.Type(), path+"."+f.Name(), bytes, seen); ok {
				return p, true
			}
		}
	}
	return problem{}, false
}

// marshalsItself reports whether the codec sends values of n through
// their own methods rather than their fields.
func marshalsItself(n *types.Named) bool {
	ms := types.NewMethodSet(types.NewPointer(n))
	has := func(name string) bool { return ms.Lookup(n.Obj().Pkg(), name) != nil || lookupExported(ms, name) }
	return has("MarshalCodec") && has("UnmarshalCodec") ||
		has("MarshalBinary") && has("UnmarshalBinary") ||
		has("GobEncode") && has("GobDecode") ||
		has("MarshalText") && has("UnmarshalText")
}

func lookupExported(ms *types.MethodSet, name string) bool {
	for i := range ms.Len() {
		if ms.At(i).Obj().Name() == name {
			return true
		}
	}
	return false
}

// handle reports a pointer type the codec passes as a handle: *os.File,
// and types with MarshalHandle and UnmarshalHandle methods.
func handle(p *types.Pointer) bool {
	if n, ok := p.Elem().(*types.Named); ok && n.Obj().Pkg() != nil {
		if n.Obj().Pkg().Path() == "os" && n.Obj().Name() == "File" {
			return true
		}
	}
	ms := types.NewMethodSet(p)
	return lookupExported(ms, "MarshalHandle") && lookupExported(ms, "UnmarshalHandle")
}
