package textfilter_test

import (
	"fmt"

	"github.com/obscuraproject/obscura/internal/textfilter"
)

func ExampleFilter_Check() {
	f, err := textfilter.New()
	if err != nil {
		panic(err)
	}
	fmt.Println(f.Check("When the pizza arrives", textfilter.Options{}))
	fmt.Println(f.Check("POV: ur d1abet1c friend in Paris", textfilter.Options{}))
	fmt.Println(f.Check("Jessica's cake", textfilter.Options{Names: []string{"Jessica Moore"}}))
	// Output:
	// allowed
	// health,location
	// identifier
}

func ExampleUntrusted() {
	fmt.Println(textfilter.Untrusted("SALE\u200b! visit www.example.com\u202e now", 20))
	// Output: SALE! visit now
}
