// e2e-server: the application of the node tier's test images. One static binary that a journey
// can ask, over HTTP, to show what the pod may and may not do:
//
//	GET /healthz /livez /ready /live   probes: 200 "ok"
//	GET /version                       the content of /etc/e2e/version (baked into each image)
//	GET /whoami                        {"uid", "gid", "hostname"}
//	GET /fetch?url=URL                 GET URL (3 s timeout); {"status", "body"} or 502 {"error"}
//	GET /resolve?name=NAME             {"addrs"} or 502 {"error"}
//	GET /read?path=PATH                the file, or 404/500 {"error"}
//	GET /write?path=PATH               create PATH; {"written": true} or 500 {"error"}
//
// It listens on $PORT (default 8080), and on $ADMIN_PORT too when set (same handlers: a second
// port of one app, for the journeys that allow one port and not the other). On SIGTERM it keeps
// serving for $SHUTDOWN_DELAY (default 5s), the time the node's proxies need to stop sending it
// traffic, then drains and exits: the graceful shutdown a rolling update relies on. It is a test
// fixture: /fetch and /read do what they are told, so it must never run anywhere but the suite's
// throw-away node.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, err error) {
	reply(w, code, map[string]string{"error": err.Error()})
}

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	client := &http.Client{Timeout: 3 * time.Second}
	mux := http.NewServeMux()
	for _, p := range []string{"/healthz", "/livez", "/ready", "/live"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "ok")
		})
	}
	mux.HandleFunc("/version", func(w http.ResponseWriter, _ *http.Request) {
		b, err := os.ReadFile("/etc/e2e/version")
		if err != nil {
			fail(w, http.StatusInternalServerError, err)
			return
		}
		_, _ = io.WriteString(w, strings.TrimSpace(string(b)))
	})
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, _ *http.Request) {
		host, _ := os.Hostname()
		reply(w, http.StatusOK, map[string]any{
			"uid": os.Getuid(), "gid": os.Getgid(), "hostname": host,
		})
	})
	mux.HandleFunc("/fetch", func(w http.ResponseWriter, r *http.Request) {
		resp, err := client.Get(r.URL.Query().Get("url"))
		if err != nil {
			fail(w, http.StatusBadGateway, err)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		reply(w, http.StatusOK, map[string]any{"status": resp.StatusCode, "body": string(body)})
	})
	mux.HandleFunc("/resolve", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupHost(ctx, r.URL.Query().Get("name"))
		if err != nil {
			fail(w, http.StatusBadGateway, err)
			return
		}
		reply(w, http.StatusOK, map[string]any{"addrs": addrs})
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(r.URL.Query().Get("path"))
		if err != nil {
			code := http.StatusInternalServerError
			if os.IsNotExist(err) {
				code = http.StatusNotFound
			}
			fail(w, code, err)
			return
		}
		_, _ = w.Write(b)
	})
	mux.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		err := os.WriteFile(r.URL.Query().Get("path"), []byte("e2e\n"), 0o600)
		if err != nil {
			fail(w, http.StatusInternalServerError, err)
			return
		}
		reply(w, http.StatusOK, map[string]bool{"written": true})
	})
	srv := &http.Server{
		Addr:              ":" + port,
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
	}
	delay := 5 * time.Second
	if v := os.Getenv("SHUTDOWN_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			log.Fatalf("SHUTDOWN_DELAY: %v", err)
		}
		delay = d
	}
	go func() {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		<-sigs
		fmt.Fprintf(os.Stderr, "e2e-server: SIGTERM, serving %s more, then draining\n", delay)
		time.Sleep(delay)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	if admin := os.Getenv("ADMIN_PORT"); admin != "" {
		adminSrv := &http.Server{Addr: ":" + admin, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := adminSrv.ListenAndServe(); err != http.ErrServerClosed {
				log.Fatal(err)
			}
		}()
		fmt.Fprintf(os.Stderr, "e2e-server listening on :%s too\n", admin)
	}
	fmt.Fprintf(os.Stderr, "e2e-server listening on :%s as uid %d\n", port, os.Getuid())
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
