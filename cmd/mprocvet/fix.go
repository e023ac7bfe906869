package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// The suggested fixes are the two mechanical ones: a func literal whose
// captures can become fields of its input, and a method value whose
// receiver can be built in the worker. Each writes top-level declarations
// after the declaration holding the call and rewrites the call; where any
// part is not mechanical (a capture the literal assigns, a type from a
// package the file does not import, generic code, a receiver made of
// local variables), the report comes without a fix.

// fixer writes the declarations of one package's fixes, with names unique
// in the package and among each other.
type fixer struct {
	pass  *analysis.Pass
	taken map[string]bool
}

func newFixer(pass *analysis.Pass) *fixer { return &fixer{pass: pass, taken: map[string]bool{}} }

// name returns base, or base2, base3..., whichever is free in the package.
func (f *fixer) name(base string) string {
	for i := 1; ; i++ {
		n := base
		if i > 1 {
			n = fmt.Sprintf("%s%d", base, i)
		}
		if !f.taken[n] && f.pass.Pkg.Scope().Lookup(n) == nil {
			f.taken[n] = true
			return n
		}
	}
}

// file returns the file holding pos and its top-level declaration that
// does.
func (f *fixer) file(pos token.Pos) (*ast.File, ast.Decl) {
	for _, file := range f.pass.Files {
		if !within(pos, file) {
			continue
		}
		for _, d := range file.Decls {
			if within(pos, d) {
				return file, d
			}
		}
	}
	return nil, nil
}

// qualifier renders package-qualified names as file imports them; ok
// turns false when a type needs a package the file does not import by
// name.
func (f *fixer) qualifier(file *ast.File, ok *bool) types.Qualifier {
	names := map[string]string{}
	for _, imp := range file.Imports {
		if pn := f.pass.TypesInfo.PkgNameOf(imp); pn != nil && pn.Name() != "_" && pn.Name() != "." {
			names[pn.Imported().Path()] = pn.Name()
		}
	}
	return func(p *types.Package) string {
		if p == f.pass.Pkg {
			return ""
		}
		if n, found := names[p.Path()]; found {
			return n
		}
		*ok = false
		return p.Name()
	}
}

func (f *fixer) source(n ast.Node) (string, bool) {
	tf := f.pass.Fset.File(n.Pos())
	if tf == nil {
		return "", false
	}
	src, err := f.pass.ReadFile(tf.Name())
	if err != nil {
		return "", false
	}
	start, end := tf.Offset(n.Pos()), tf.Offset(n.End())
	if start < 0 || end > len(src) || start > end {
		return "", false
	}
	return string(src[start:end]), true
}

// decls formats the new declarations as an edit after decl.
func decls(decl ast.Decl, code string) (analysis.TextEdit, bool) {
	out, err := format.Source([]byte(code))
	if err != nil {
		return analysis.TextEdit{}, false
	}
	return analysis.TextEdit{Pos: decl.End(), End: decl.End(), NewText: append([]byte("\n\n"), bytes.TrimSpace(out)...)}, true
}

// captureFix rewrites a func literal that captures vars into a top-level
// function taking an input struct that carries them, and the call's input
// (arg: one value, or with slice a slice of them) into that struct. It
// returns false when the rewrite is not mechanical.
func (f *fixer) captureFix(lit *ast.FuncLit, vars []*types.Var, arg ast.Expr, slice bool) (analysis.SuggestedFix, bool) {
	sig, _ := f.pass.TypesInfo.TypeOf(lit).(*types.Signature)
	if sig == nil || sig.Params().Len() == 0 || arg == nil || assigns(f.pass, lit, vars) {
		return analysis.SuggestedFix{}, false
	}
	for _, v := range vars {
		if _, bad := unsendable(v.Type(), false); bad || genericType(v.Type()) {
			return analysis.SuggestedFix{}, false
		}
	}
	if genericType(sig) {
		return analysis.SuggestedFix{}, false
	}
	file, decl := f.file(lit.Pos())
	if file == nil {
		return analysis.SuggestedFix{}, false
	}
	ok := true
	q := f.qualifier(file, &ok)
	body, okBody := f.source(lit.Body)
	argText, okArg := f.source(arg)
	if !okBody || !okArg {
		return analysis.SuggestedFix{}, false
	}

	// The input, the literal's last parameter, becomes a field beside the
	// captures; the new parameter gets a name the body does not use.
	used := identsIn(lit)
	fresh := func(base string) string {
		for i := 1; ; i++ {
			n := base
			if i > 1 {
				n = fmt.Sprintf("%s%d", base, i)
			}
			if !used[n] {
				used[n] = true
				return n
			}
		}
	}
	inVar := sig.Params().At(sig.Params().Len() - 1)
	inField := inVar.Name()
	if inField == "" || inField == "_" {
		inField = fresh("in")
	}
	param := fresh("input")

	fn := f.name(enclosingName(decl) + "Task")
	typ := f.name(fn + "Input")
	var names, fields, rebinds, keyed []string
	for _, v := range vars {
		names = append(names, v.Name())
		fields = append(fields, v.Name()+" "+types.TypeString(v.Type(), q))
		keyed = append(keyed, v.Name()+": "+v.Name())
	}
	fields = append(fields, inField+" "+types.TypeString(inVar.Type(), q))
	lhs, rhs := append([]string(nil), names...), []string{}
	for _, n := range names {
		rhs = append(rhs, param+"."+n)
	}
	if inVar.Name() != "" && inVar.Name() != "_" {
		lhs, rhs = append(lhs, inVar.Name()), append(rhs, param+"."+inField)
	}
	rebinds = append(rebinds, strings.Join(lhs, ", ")+" := "+strings.Join(rhs, ", "))

	var params []string
	for i := range sig.Params().Len() - 1 {
		p := sig.Params().At(i)
		n := p.Name()
		if n == "" {
			n = "_"
		}
		params = append(params, n+" "+types.TypeString(p.Type(), q))
	}
	params = append(params, param+" "+typ)
	results := ""
	if lit.Type.Results != nil {
		if r, okR := f.source(lit.Type.Results); okR {
			results = " " + r
		}
	}

	var code strings.Builder
	fmt.Fprintf(&code, "package p\n\n// %s carries what the func literal captured (%s)\n// with its input, so that the function can travel by reference.\ntype %s struct {\n%s\n}\n\n",
		typ, strings.Join(names, ", "), typ, strings.Join(fields, "\n"))
	fmt.Fprintf(&code, "// %s is the func literal that was sent from %s.\nfunc %s(%s)%s {\n%s\n%s\n}\n", fn, enclosingName(decl), fn, strings.Join(params, ", "), results,
		strings.Join(rebinds, "\n"), strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(body), "{"), "}")))
	newArg := typ + "{" + strings.Join(append(keyed, inField+": "+argText), ", ") + "}"
	if slice {
		conv := f.name(fn + "Inputs")
		elem := "x"
		for _, n := range names {
			if n == elem || n == "xs" || n == "out" || n == "i" {
				elem = "each"
			}
		}
		var capParams []string
		for _, v := range vars {
			capParams = append(capParams, v.Name()+" "+types.TypeString(v.Type(), q))
		}
		fmt.Fprintf(&code, "\n// %s pairs each input with the captures.\nfunc %s(%s, xs []%s) []%s {\nout := make([]%s, len(xs))\nfor i, %s := range xs {\nout[i] = %s{%s}\n}\nreturn out\n}\n",
			conv, conv, strings.Join(capParams, ", "), types.TypeString(inVar.Type(), q), typ, typ, elem,
			typ, strings.Join(append(keyed, inField+": "+elem), ", "))
		newArg = conv + "(" + strings.Join(names, ", ") + ", " + argText + ")"
	}
	if !ok {
		return analysis.SuggestedFix{}, false
	}
	text := code.String()
	edit, okEdit := decls(decl, text[strings.Index(text, "\n")+1:])
	if !okEdit {
		return analysis.SuggestedFix{}, false
	}
	return analysis.SuggestedFix{
		Message: fmt.Sprintf("make the literal the top-level function %s and pass %s in its input (%s)", fn, strings.Join(names, ", "), typ),
		TextEdits: []analysis.TextEdit{
			{Pos: lit.Pos(), End: lit.End(), NewText: []byte(fn)},
			{Pos: arg.Pos(), End: arg.End(), NewText: []byte(newArg)},
			edit,
		},
	}, true
}

// methodFix rewrites a method value whose receiver cannot travel into a
// top-level function that evaluates the receiver expression in the
// worker, at each call. Only a receiver made of no local variable (a
// composite literal of constants, a package-level variable) means the
// same there: otherwise it returns false.
func (f *fixer) methodFix(sel *ast.SelectorExpr, reason string) (analysis.SuggestedFix, bool) {
	sig, _ := f.pass.TypesInfo.TypeOf(sel).(*types.Signature)
	if sig == nil || genericType(sig) || usesLocals(f.pass, sel.X) {
		return analysis.SuggestedFix{}, false
	}
	file, decl := f.file(sel.Pos())
	if file == nil {
		return analysis.SuggestedFix{}, false
	}
	recv, okRecv := f.source(sel.X)
	if !okRecv {
		return analysis.SuggestedFix{}, false
	}
	ok := true
	q := f.qualifier(file, &ok)
	var params, args []string
	for i := range sig.Params().Len() {
		p := sig.Params().At(i)
		n := p.Name()
		if n == "" || n == "_" {
			n = fmt.Sprintf("arg%d", i)
			if types.TypeString(p.Type(), nil) == "context.Context" {
				n = "ctx"
			}
		}
		t := p.Type()
		spread := ""
		if sig.Variadic() && i == sig.Params().Len()-1 {
			t = t.(*types.Slice).Elem()
			spread = "..."
			params = append(params, n+" ..."+types.TypeString(t, q))
		} else {
			params = append(params, n+" "+types.TypeString(t, q))
		}
		args = append(args, n+spread)
	}
	var results []string
	for i := range sig.Results().Len() {
		results = append(results, types.TypeString(sig.Results().At(i).Type(), q))
	}
	res := ""
	switch len(results) {
	case 0:
	case 1:
		res = " " + results[0]
	default:
		res = " (" + strings.Join(results, ", ") + ")"
	}
	if !ok {
		return analysis.SuggestedFix{}, false
	}
	base := strings.TrimLeft(types.TypeString(types.Unalias(f.pass.TypesInfo.TypeOf(sel.X)), func(*types.Package) string { return "" }), "*")
	if i := strings.IndexAny(base, "[."); i >= 0 {
		base = base[:i]
	}
	fn := f.name(strings.ToLower(base[:1]) + base[1:] + sel.Sel.Name)
	ret := ""
	if len(results) > 0 {
		ret = "return "
	}
	recvCall := recv
	switch ast.Unparen(sel.X).(type) {
	case *ast.Ident, *ast.CompositeLit, *ast.SelectorExpr:
	default:
		if _, paren := sel.X.(*ast.ParenExpr); !paren {
			recvCall = "(" + recv + ")"
		}
	}
	code := fmt.Sprintf("// %s builds its receiver in the worker, at each call:\n// %s.\nfunc %s(%s)%s {\n%s%s.%s(%s)\n}\n",
		fn, reason, fn, strings.Join(params, ", "), res, ret, recvCall, sel.Sel.Name, strings.Join(args, ", "))
	edit, okEdit := decls(decl, code)
	if !okEdit {
		return analysis.SuggestedFix{}, false
	}
	return analysis.SuggestedFix{
		Message: fmt.Sprintf("send the top-level function %s, which builds the receiver in the worker", fn),
		TextEdits: []analysis.TextEdit{
			{Pos: sel.Pos(), End: sel.End(), NewText: []byte(fn)},
			edit,
		},
	}, true
}

// assigns reports whether lit assigns to, increments or takes the address
// of any of vars: then a copy in the input would not mean the same.
func assigns(pass *analysis.Pass, lit *ast.FuncLit, vars []*types.Var) bool {
	is := func(e ast.Expr) bool {
		id, ok := ast.Unparen(e).(*ast.Ident)
		if !ok {
			return false
		}
		for _, v := range vars {
			if pass.TypesInfo.Uses[id] == v {
				return true
			}
		}
		return false
	}
	found := false
	ast.Inspect(lit.Body, func(n ast.Node) bool {
		switch s := n.(type) {
		case *ast.AssignStmt:
			for _, l := range s.Lhs {
				found = found || is(l)
			}
		case *ast.IncDecStmt:
			found = found || is(s.X)
		case *ast.UnaryExpr:
			found = found || s.Op == token.AND && is(s.X)
		}
		return !found
	})
	return found
}

// usesLocals reports whether e refers to a variable that is not
// package-level.
func usesLocals(pass *analysis.Pass, e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			if v, ok := pass.TypesInfo.Uses[id].(*types.Var); ok && !v.IsField() && v.Pkg() != nil && v.Parent() != v.Pkg().Scope() {
				found = true
			}
		}
		return !found
	})
	return found
}

// identsIn returns every identifier spelled in n.
func identsIn(n ast.Node) map[string]bool {
	used := map[string]bool{}
	ast.Inspect(n, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			used[id.Name] = true
		}
		return true
	})
	return used
}

// genericType reports whether t mentions a type parameter: a top-level
// declaration could not name it.
func genericType(t types.Type) bool {
	seen := map[types.Type]bool{}
	var walk func(types.Type) bool
	walk = func(t types.Type) bool {
		if t == nil || seen[t] {
			return false
		}
		seen[t] = true
		switch u := types.Unalias(t).(type) {
		case *types.TypeParam:
			return true
		case *types.Named:
			for i := range u.TypeArgs().Len() {
				if walk(u.TypeArgs().At(i)) {
					return true
				}
			}
			return false
		case *types.Pointer:
			return walk(u.Elem())
		case *types.Slice:
			return walk(u.Elem())
		case *types.Array:
			return walk(u.Elem())
		case *types.Chan:
			return walk(u.Elem())
		case *types.Map:
			return walk(u.Key()) || walk(u.Elem())
		case *types.Signature:
			for _, tup := range []*types.Tuple{u.Params(), u.Results()} {
				for i := range tup.Len() {
					if walk(tup.At(i).Type()) {
						return true
					}
				}
			}
		case *types.Struct:
			for i := range u.NumFields() {
				if walk(u.Field(i).Type()) {
					return true
				}
			}
		}
		return false
	}
	return walk(t)
}

// enclosingName names the declaration holding a call, for the new
// function's name: its function (methods as Type plus name), or "send".
func enclosingName(d ast.Decl) string {
	fd, ok := d.(*ast.FuncDecl)
	if !ok {
		return "send"
	}
	n := fd.Name.Name
	if fd.Recv != nil && len(fd.Recv.List) == 1 {
		t := fd.Recv.List[0].Type
		if s, ok := t.(*ast.StarExpr); ok {
			t = s.X
		}
		if ix, ok := t.(*ast.IndexExpr); ok {
			t = ix.X
		} else if ix, ok := t.(*ast.IndexListExpr); ok {
			t = ix.X
		}
		if id, ok := t.(*ast.Ident); ok {
			n = strings.ToLower(id.Name[:1]) + id.Name[1:] + strings.ToUpper(n[:1]) + n[1:]
		}
	}
	return n
}
