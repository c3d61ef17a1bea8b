// Command client is a Go net/rpc client of the logger's RPC door, as the Go broker was. With
// gob (rpc.Dial, what the original broker used) and then with net/rpc/jsonrpc, on the same
// address, it calls RPCServer.LogInfo several times over one connection, pipelines calls with
// client.Go, provokes Go's error replies, and checks the connection survives them. It exits
// non-zero when a reply is not the one Go's own server gives.
//
// Usage: client <host:port> <name-prefix> <sequential calls> <pipelined calls> <codecs>
// where <codecs> is "gob", "jsonrpc" or "gob,jsonrpc".
package main

import (
	"encoding/gob"
	"fmt"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"strconv"
	"strings"
	"time"
)

// RPCPayload is the argument type of the original logger's RPCServer.LogInfo.
type RPCPayload struct {
	Name string
	Data string
}

// Point is a field's type: gob defines it before the value.
type Point struct{ X, Y int }

// Label travels only inside an interface value, so gob defines its type in mid-value.
type Label struct{ Text string }

// Reordered carries Name and Data among fields the logger lacks, in another order: gob
// matches fields by name and skips the others, whatever their kind.
type Reordered struct {
	Extra  map[string][]int
	Data   string
	Tags   []string
	Any    interface{}
	Nested struct {
		A int
		B string
	}
	Arr   [3]int
	Blob  []byte
	Ratio float64
	C     complex128
	Flag  bool
	Big   uint64
	When  time.Time
	Ptr   *Point
	Name  string
}

// NameAsInt has a Name the logger cannot take: gob refuses the call.
type NameAsInt struct{ Name int }

// Unrelated shares no field with RPCPayload.
type Unrelated struct{ Other string }

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "client: "+format+"\n", args...)
	os.Exit(1)
}

func reply(name string) string { return "Processed payload via RPC:" + name }

func logInfo(client *rpc.Client, what string, args any, want string) {
	var got string
	if err := client.Call("RPCServer.LogInfo", args, &got); err != nil {
		fail("%s: %v", what, err)
	}
	if got != want {
		fail("%s: reply %q, want %q", what, got, want)
	}
}

func wantError(client *rpc.Client, what, method string, args any, want string) {
	var got string
	err := client.Call(method, args, &got)
	if err == nil || err.Error() != want {
		fail("%s: error %v, want %q", what, err, want)
	}
}

func exercise(client *rpc.Client, codec, prefix string, sequential, pipelined int) {
	prefix = prefix + "-" + codec
	for i := 0; i < sequential; i++ {
		args := RPCPayload{Name: fmt.Sprintf("%s-seq-%d", prefix, i), Data: fmt.Sprintf("sequential %d", i)}
		logInfo(client, fmt.Sprintf("call %d", i), args, reply(args.Name))
	}

	calls := make([]*rpc.Call, pipelined)
	replies := make([]string, pipelined)
	for i := range calls {
		args := RPCPayload{Name: fmt.Sprintf("%s-go-%d", prefix, i), Data: fmt.Sprintf("pipelined %d", i)}
		calls[i] = client.Go("RPCServer.LogInfo", args, &replies[i], nil)
	}
	for i, call := range calls {
		<-call.Done
		if call.Error != nil {
			fail("pipelined call %d: %v", i, call.Error)
		}
		if want := reply(fmt.Sprintf("%s-go-%d", prefix, i)); replies[i] != want {
			fail("pipelined call %d: reply %q, want %q", i, replies[i], want)
		}
	}

	wantError(client, "unknown method", "RPCServer.Missing", RPCPayload{Name: "x"},
		"rpc: can't find method RPCServer.Missing")
	wantError(client, "unknown service", "Nope.LogInfo", RPCPayload{Name: "x"},
		"rpc: can't find service Nope.LogInfo")
	wantError(client, "no dot", "LogInfo", RPCPayload{Name: "x"},
		"rpc: service/method request ill-formed: LogInfo")

	if codec == "gob" {
		for i := 0; i < 2; i++ { // the second time, every type is known already
			args := Reordered{Data: "reordered", Any: Label{"inside"}, Name: fmt.Sprintf("%s-reordered-%d", prefix, i)}
			args.Extra = map[string][]int{"a": {1, 2}, "b": nil}
			args.Tags = []string{"x", "", "y"}
			args.Nested.A, args.Nested.B = -7, "nested"
			args.Arr = [3]int{1, 0, 3}
			args.Blob = []byte{0, 1, 2}
			args.Ratio, args.C, args.Flag, args.Big = 17.5, complex(1, -2), true, 1<<63+5
			args.When = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
			args.Ptr = &Point{3, 4}
			logInfo(client, "reordered fields", args, reply(args.Name))
		}
		wantError(client, "wrong field type", "RPCServer.LogInfo", NameAsInt{5},
			"gob: wrong type (string) for received field NameAsInt.Name")
		wantError(client, "no field in common", "RPCServer.LogInfo", Unrelated{"x"},
			"gob: type mismatch: no fields matched compiling decoder for RPCPayload")
		wantError(client, "not a struct", "RPCServer.LogInfo", "text",
			"gob: type mismatch in decoder: want struct type main.RPCPayload; got non-struct")
	}

	args := RPCPayload{Name: prefix + "-after-error", Data: "the connection survives an error"}
	logInfo(client, "call after the error replies", args, reply(args.Name))
}

func main() {
	if len(os.Args) != 6 {
		fail("usage: client <host:port> <name-prefix> <sequential> <pipelined> <codecs>")
	}
	addr, prefix := os.Args[1], os.Args[2]
	sequential, err1 := strconv.Atoi(os.Args[3])
	pipelined, err2 := strconv.Atoi(os.Args[4])
	if err1 != nil || err2 != nil {
		fail("the call counts must be integers")
	}
	gob.Register(Label{})

	for _, codec := range strings.Split(os.Args[5], ",") {
		var client *rpc.Client
		var err error
		switch codec {
		case "gob":
			client, err = rpc.Dial("tcp", addr)
		case "jsonrpc":
			client, err = jsonrpc.Dial("tcp", addr)
		default:
			fail("unknown codec %q", codec)
		}
		if err != nil {
			fail("dial %s: %v", addr, err)
		}
		exercise(client, codec, prefix, sequential, pipelined)
		client.Close()
		fmt.Printf("ok %s: %d sequential and %d pipelined calls on one connection\n", codec, sequential, pipelined)
	}
}
