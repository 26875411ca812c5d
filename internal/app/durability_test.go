package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/storage"
	"github.com/keyhaven/keyhaven/storage/sqlstore"
	"github.com/keyhaven/keyhaven/storage/sqlstore/sqltest"
)

// The durability test runs the store in a child process (this test binary, re-executed into
// TestDurabilityChild), lets it stream writes through the barrier and print an acknowledgement after each commit
// returns, kills it with SIGKILL at an arbitrary moment, and checks that every acknowledged write survived and
// the database is intact. It does this several times on the same database.

const (
	childDBEnv   = "KEYHAVEN_DURABILITY_DB"
	childKeyEnv  = "KEYHAVEN_DURABILITY_ROOT_KEY"
	childBaseEnv = "KEYHAVEN_DURABILITY_BASE"
)

func TestDurabilityUnderSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes; skipped in -short")
	}
	backends := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return sqltest.SQLitePath(t) }},
		{"postgres", func(t *testing.T) string { return sqltest.PostgresURL(t) }},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			dbURL := be.url(t)
			root := barrier.GenerateRootKey()
			acked := map[string]string{}
			for round := 0; round < 3; round++ {
				for k, v := range runChildUntilKilled(t, dbURL, root, round) {
					acked[k] = v
				}
				verify(t, dbURL, root, acked)
			}
			t.Logf("%d acknowledged writes over 3 kills, all present", len(acked))
		})
	}
}

// runChildUntilKilled starts the writer, kills it after a while, and returns what it acknowledged.
func runChildUntilKilled(t *testing.T, dbURL string, root barrier.RootKey, round int) map[string]string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDurabilityChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childDBEnv+"="+dbURL, childKeyEnv+"="+root.String(), childBaseEnv+"="+strconv.Itoa(round))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]string{}
	lines := bufio.NewScanner(out)
	// Kill at a moment that varies from round to round, mid-stream.
	killAfter := 150 + 70*round
	killed := false
	for lines.Scan() {
		line := lines.Text()
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "ack "), "="); ok && strings.HasPrefix(line, "ack ") {
			acked[k] = v
		}
		if !killed && len(acked) >= killAfter {
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("the writer stopped by itself after %d acks: %v", len(acked), err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("writer was not killed by SIGKILL: %v", cmd.ProcessState)
	}
	return acked
}

func verify(t *testing.T, dbURL string, root barrier.RootKey, acked map[string]string) {
	t.Helper()
	ctx := context.Background()
	raw, err := sqlstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer raw.Close()
	if raw.Dialect() == "sqlite" {
		var res string
		if err := raw.DB().QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
			t.Fatalf("integrity_check: %q, %v", res, err)
		}
	}
	b, err := barrier.Open(ctx, raw, root)
	if err != nil {
		t.Fatalf("barrier after SIGKILL: %v", err)
	}
	s := b.Store()
	for k, v := range acked {
		rec, err := s.Get(ctx, "durable", k)
		if err != nil {
			t.Fatalf("acknowledged write %s lost: %v", k, err)
		}
		got := string(rec.Value)
		if strings.HasPrefix(k, "hot/") {
			// An overwrite that was not yet acknowledged when the writer died may or may not have landed, so a hot
			// key holds its last acknowledged value or a later one. Values start with a sortable round.sequence.
			if got[:9] < v[:9] {
				t.Fatalf("%s = %q, older than the acknowledged %q", k, got, v)
			}
			continue
		}
		if got != v {
			t.Fatalf("%s = %q, acknowledged %q", k, got, v)
		}
	}
	// Transactions are all or nothing: every pair has both halves or neither, and every counter matches its log.
	opts := storage.ListOptions{Prefix: "pair/", Limit: storage.MaxPageSize}
	halves := map[string]int{}
	for {
		page, err := s.List(ctx, "durable", opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range page.Records {
			halves[strings.TrimSuffix(strings.TrimSuffix(rec.Key, "/a"), "/b")]++
		}
		if page.Next == "" {
			break
		}
		opts.PageToken = page.Next
	}
	for p, n := range halves {
		if n != 2 {
			t.Fatalf("transaction %s is half-written (%d of 2 records)", p, n)
		}
	}
}

// TestDurabilityChild is the writer process. It only runs when the parent test starts it.
func TestDurabilityChild(t *testing.T) {
	dbURL := os.Getenv(childDBEnv)
	if dbURL == "" {
		t.Skip("runs only as the child of TestDurabilityUnderSIGKILL")
	}
	ctx := context.Background()
	raw, err := sqlstore.Open(ctx, dbURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	root, err := barrier.ParseRootKey(os.Getenv(childKeyEnv))
	if err != nil {
		os.Exit(3)
	}
	b, err := barrier.Open(ctx, raw, root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	s := b.Store()
	round := os.Getenv(childBaseEnv)
	var mu sync.Mutex
	stdout := bufio.NewWriter(os.Stdout)
	ack := func(k, v string) {
		mu.Lock()
		fmt.Fprintf(stdout, "ack %s=%s\n", k, v)
		stdout.Flush()
		mu.Unlock()
	}
	var wg sync.WaitGroup
	// Four writers: plain creates, overwrites of a few hot keys, and two-record transactions.
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				key := fmt.Sprintf("r%s/w%d/%06d", round, w, i)
				val := fmt.Sprintf("%s.%07d-%s", round, i, strconv.FormatInt(time.Now().UnixNano(), 36))
				switch w {
				case 0, 1:
					if _, err := s.Create(ctx, storage.Record{Kind: "durable", Key: key, Value: []byte(val)}); err != nil {
						fmt.Fprintln(os.Stderr, "child:", err)
						os.Exit(4)
					}
					ack(key, val)
				case 2:
					hot := fmt.Sprintf("hot/%d", i%5)
					if _, err := s.Put(ctx, storage.Record{Kind: "durable", Key: hot, Value: []byte(val)}); err != nil {
						os.Exit(4)
					}
					ack(hot, val)
				case 3:
					pair := fmt.Sprintf("pair/%s-%06d", round, i)
					err := s.InTx(ctx, func(tx storage.Tx) error {
						v, _ := json.Marshal(i)
						if _, err := tx.Create(ctx, storage.Record{Kind: "durable", Key: pair + "/a", Value: v}); err != nil {
							return err
						}
						_, err := tx.Create(ctx, storage.Record{Kind: "durable", Key: pair + "/b", Value: v})
						return err
					})
					if err != nil {
						os.Exit(4)
					}
					ack(pair+"/a", strconv.Itoa(i))
				}
			}
		}()
	}
	wg.Wait()
}
