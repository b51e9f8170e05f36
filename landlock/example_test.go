package landlock_test

import (
	"fmt"

	"github.com/llconform/llconform/landlock"
)

// A policy written for the newest ABI, planned for an ABI-2 kernel: the
// plan keeps what ABI 2 has and the report names what it dropped.
func ExamplePolicy_Plan() {
	p := landlock.Policy{FS: landlock.FSReadFile | landlock.FSTruncate, Net: landlock.NetBindTCP}
	p.AllowPath("/usr", landlock.FSReadFile)
	p.AllowPort(8080, landlock.NetBindTCP)
	plan, err := p.Plan(2, landlock.BestEffort)
	if err != nil {
		panic(err)
	}
	r := plan.Report
	fmt.Println(r.State)
	fmt.Println("enforced fs:", r.Enforced.FS)
	for _, d := range r.Dropped {
		fmt.Println("dropped:", d.Feature, "needs ABI", d.ABI)
	}
	fmt.Println("skipped:", r.Skipped)
	// Output:
	// partially enforced
	// enforced fs: read_file
	// dropped: LANDLOCK_ACCESS_FS_TRUNCATE needs ABI 3
	// dropped: LANDLOCK_ACCESS_NET_BIND_TCP needs ABI 4
	// skipped: [port 8080: bind_tcp: none of its rights is handled]
}
