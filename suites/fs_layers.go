package suites

import (
	"github.com/llconform/llconform/internal/tinyasm"
	"github.com/llconform/llconform/landlock"
	"github.com/llconform/llconform/suites/check"
	"github.com/llconform/llconform/suites/fixture"
	"golang.org/x/sys/unix"
)

// Group fs.6: layers and inheritance (landlock.rst "Layers of file path
// access rights", "Inheritance"). Each layer allows an access if one of
// its rules on the path grants it, or if it does not handle the access;
// every layer must allow. A later layer cannot grant what an earlier one
// denies. Children (fork, and the program they execute) keep the domain;
// sibling threads of the enforcing thread do not get it.

func layerCase(name string, want func(check.Env) string, run func(t *check.T) string) check.Case {
	return check.Case{Area: "fs", Name: "layers/" + name, Want: want, Covers: []string{"fs.6", "§3.4"}, Run: run}
}

// fsLayerSpec is one layer: what it handles and its rules.
type fsLayerSpec struct {
	handled landlock.AccessFS
	rules   []fixture.Rule
}

func enforceLayers(t *check.T, ls ...fsLayerSpec) error {
	for _, l := range ls {
		if err := fixture.EnforceFS(t, l.handled, l.rules...); err != nil {
			return err
		}
	}
	return nil
}

func init() {
	check.Build(func() {
		read := func(t *check.T, p string) string { return check.Outcome(fixture.OpenRead(t.Path(p))) }
		write := func(t *check.T, p string) string { return check.Outcome(fixture.OpenWrite(t.Path(p))) }
		check.Register(mirrored(
			// The second layer grants READ|WRITE everywhere; the first granted
			// only READ on a: writing stays denied.
			layerCase("superset_layer_cannot_widen", byLibABI(check.ABILandlock, "read=ok write=EACCES", "read=ok write=ok"), func(t *check.T) string {
				t.Files("a/f")
				if err := enforceLayers(t, fsLayerSpec{fixture.ARead | fixture.AWrite, []fixture.Rule{fixture.On("a", fixture.ARead)}}, fsLayerSpec{fixture.ARead | fixture.AWrite, []fixture.Rule{fixture.On("", fixture.ARead|fixture.AWrite)}}); err != nil {
					return fixture.EnforceFailed(err)
				}
				return pairs("read", read(t, "a/f"), "write", write(t, "a/f"))
			}),
			// Layers handling different rights: each only restricts its own.
			layerCase("non_overlapping_accesses", byLibABI(check.ABILandlock, "a_read=ok b_write=ok a_write=EACCES b_read=EACCES", "a_read=ok b_write=ok a_write=ok b_read=ok"), func(t *check.T) string {
				t.Files("a/f", "b/f")
				if err := enforceLayers(t, fsLayerSpec{fixture.ARead, []fixture.Rule{fixture.On("a", fixture.ARead)}}, fsLayerSpec{fixture.AWrite, []fixture.Rule{fixture.On("b", fixture.AWrite)}}); err != nil {
					return fixture.EnforceFailed(err)
				}
				return pairs("a_read", read(t, "a/f"), "b_write", write(t, "b/f"), "a_write", write(t, "a/f"), "b_read", read(t, "b/f"))
			}),
			// A middle layer that handles WRITE_FILE and grants nothing masks
			// the WRITE_FILE of the others; READ_FILE stays as they grant it.
			layerCase("interleaved_masked_accesses", byLibABI(check.ABILandlock, "read=ok write=EACCES", "read=ok write=ok"), func(t *check.T) string {
				t.Files("a/f")
				if err := enforceLayers(t,
					fsLayerSpec{fixture.ARead | fixture.AWrite, []fixture.Rule{fixture.On("a", fixture.ARead|fixture.AWrite)}},
					fsLayerSpec{fixture.AWrite, nil},
					fsLayerSpec{fixture.ARead, []fixture.Rule{fixture.On("a", fixture.ARead)}}); err != nil {
					return fixture.EnforceFailed(err)
				}
				return pairs("read", read(t, "a/f"), "write", write(t, "a/f"))
			}),
			layerCase("empty_layer_denies_only_what_it_handles", byLibABI(check.ABILandlock, "read=EACCES write=ok", "read=ok write=ok"), func(t *check.T) string {
				t.Files("a/f")
				if err := enforceLayers(t, fsLayerSpec{fixture.ARead, nil}); err != nil {
					return fixture.EnforceFailed(err)
				}
				return pairs("read", read(t, "a/f"), "write", write(t, "a/f"))
			}),
			// The same ruleset enforced twice: two equal layers.
			layerCase("same_ruleset_twice", check.Sys(func(check.Env) string { return "a=ok b=EACCES" }), func(t *check.T) string {
				t.Files("a/f", "b/f")
				return fixture.WithRuleset(fixture.Attr(8, fsRead), func(rs int) string {
					openErr, err := fixture.AddPathOf(rs, fsRead, t.Path("a"), 0)
					if openErr != nil {
						return check.SetupFailed(openErr)
					}
					if err != nil {
						return "add_rule: " + check.Outcome(err)
					}
					for i := 0; i < 2; i++ {
						if err := fixture.Restrict(t, rs, 0); err != nil {
							return "restrict: " + check.Outcome(err)
						}
					}
					return pairs("a", read(t, "a/f"), "b", read(t, "b/f"))
				})
			}),
		)...)

		inherit := func(name string, want func(check.Env) string, run func(t *check.T) string) check.Case {
			return check.Case{Area: "fs", Name: "inheritance/" + name, Want: want, Covers: []string{"fs.6", "§3.4"}, Run: run}
		}
		check.Register(
			// The executed program (a new image) still runs in the domain.
			inherit("executed_program_keeps_the_domain", byLibABI(check.ABILandlock, "a=ok b=EACCES", "a=ok b=ok"), func(t *check.T) string {
				t.Files("a/f", "b/f")
				progs := map[string]string{"a": t.Path("a/open-prog"), "b": t.Path("a/open-b-prog")}
				if err := writeProgram(progs["a"], tinyasm.OpenProgram(t.Path("a/f"), unix.O_RDONLY)); err != nil {
					return check.SetupFailed(err)
				}
				if err := writeProgram(progs["b"], tinyasm.OpenProgram(t.Path("b/f"), unix.O_RDONLY)); err != nil {
					return check.SetupFailed(err)
				}
				if err := fixture.EnforceFS(t, fixture.ARead|fixture.AExec, fixture.On("a", fixture.ARead|fixture.AExec)); err != nil {
					return fixture.EnforceFailed(err)
				}
				return pairs("a", runProgram(progs["a"]), "b", runProgram(progs["b"]))
			}),
			// A thread that existed before the enforcement is outside the
			// domain; the enforcing thread is inside.
			inherit("sibling_thread_not_restricted", byLibABI(check.ABILandlock, "self=EACCES sibling=ok", "self=ok sibling=ok"), func(t *check.T) string {
				t.Files("f")
				if err := fixture.EnforceFS(t, fixture.ARead); err != nil {
					return fixture.EnforceFailed(err)
				}
				return pairs("self", read(t, "f"), "sibling", fixture.OnOtherThread(func() string { return read(t, "f") }))
			}),
		)
	})
}
