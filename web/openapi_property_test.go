package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/warden-console/warden/models"
)

// propertySeed fixes the generated requests: a failure replays exactly.
// Change it to explore other requests; the failure message names the seed.
const propertySeed = 16

// propertyRounds is how many requests each operation gets. Every round
// sends one request to each operation, so the state they see (users,
// tokens and teams made, revoked and deleted by earlier requests) mixes.
const propertyRounds = 150

// TestAPIPropertyRunOverTheDocument generates requests for every operation
// in openapi.json, valid and not (path ids known, unknown and malformed;
// query values in and out of their schema; bodies with nulls, wrong types,
// missing required and extra fields, other content types; callers of each
// role; other methods), sends them to the real app and checks each answer:
// no 5xx, a status documented for the operation, headers and body as the
// document says, a problem's status equal to the response's; and no 2xx
// for a request the document refuses.
func TestAPIPropertyRunOverTheDocument(t *testing.T) {
	f := newAPIFixture(t)
	k := newContract(t, f.h)
	ctx := context.Background()
	own, err := f.h.srv.Store().TokensOf(ctx, f.adminUserID)
	if err != nil || len(own) != 1 {
		t.Fatalf("the admin's tokens: %v, %v", own, err)
	}
	g := &propertyGen{
		rng: rand.New(rand.NewPCG(propertySeed, 0)),
		f:   f,
		// The callers' own users and the admin's token stay out of the
		// pools: revoking or demoting them would turn the rest of the run
		// into 401s and 403s.
		ids: map[string][]int64{
			"users":  {1, f.memberID},
			"tokens": {f.tokenID},
			"teams":  {1, f.teamID},
			// Filled by POST /webhooks; a test endpoint's URL never
			// resolves, and no worker runs here anyway.
			"webhooks": {},
		},
	}
	g.avoidUser, g.avoidToken = f.adminUserID, own[0].ID
	for _, kind := range []string{"users", "tokens"} {
		g.ids[kind] = slices.DeleteFunc(g.ids[kind], func(id int64) bool {
			return (kind == "users" && id == g.avoidUser) || (kind == "tokens" && id == g.avoidToken)
		})
	}

	type operation struct {
		path, method string
		op           *openapi3.Operation
	}
	var ops []operation
	paths := k.doc.Paths.InMatchingOrder()
	slices.Sort(paths)
	for _, p := range paths {
		if p == "/secret-scanning/report" {
			continue // signed by partners, not called with a token: secret_scanning_test.go covers it
		}
		item := k.doc.Paths.Value(p)
		methods := make([]string, 0, 4)
		for m := range item.Operations() {
			methods = append(methods, m)
		}
		slices.Sort(methods)
		for _, m := range methods {
			ops = append(ops, operation{p, m, item.GetOperation(m)})
		}
	}

	fixtureSettings, err := f.h.srv.Store().InstanceSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	settingsRNG := rand.New(rand.NewPCG(propertySeed, 1))
	start := time.Now()
	sent, failures := 0, 0
	statuses := map[string]map[int]int{}
	for round := 0; round < propertyRounds; round++ {
		for _, o := range ops {
			// /settings (added later) draws from a stream of its own, so
			// the other operations' requests stayed as they were.
			main := g.rng
			if o.path == "/settings" {
				g.rng = settingsRNG
			}
			req := g.request(o.path, o.method, o.op)
			g.rng = main
			sent++
			resp, body := f.call(t, req.method, req.path, req.token, req.contentType, req.body)
			if msg := k.check(req, resp, body); msg != "" {
				failures++
				t.Errorf("seed %d, request %d: %s %s\n  as %s, Content-Type %q, body %s\n  answered %d: %s\n  %s",
					propertySeed, sent, req.method, req.path, req.caller, req.contentType, quoteBody(req.body),
					resp.StatusCode, snippet(body), msg)
				if failures >= 25 {
					t.Fatal("too many failures; stopping")
				}
			}
			if statuses[o.method+" "+o.path] == nil {
				statuses[o.method+" "+o.path] = map[int]int{}
			}
			statuses[o.method+" "+o.path][resp.StatusCode]++
			if resp.StatusCode == http.StatusCreated {
				g.learn(o.path, body)
			}
			// A changed expiry policy (a 2-day maximum) would refuse the
			// later rounds' tokens and rotations: each operation sees the
			// fixture's settings.
			if o.path == "/settings" && o.method == http.MethodPatch && resp.StatusCode == http.StatusOK {
				p := fixtureSettings.Policy
				if _, err := f.h.srv.Store().UpdateSettings(ctx, models.System, models.SettingsPatch{DefaultDays: &p.DefaultDays,
					MaxDays: &p.MaxDays, AllowNever: &p.AllowNever, InactiveDays: &fixtureSettings.InactiveDays}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	var lines []string
	for key, st := range statuses {
		lines = append(lines, fmt.Sprintf("%-32s %v", key, st))
	}
	slices.Sort(lines)
	t.Logf("%d requests in %v; statuses per operation:\n%s", sent, time.Since(start).Round(time.Millisecond), strings.Join(lines, "\n"))
	// The run must reach past the refusals: every operation succeeded at
	// least once, or the generator has stopped exercising it.
	for _, o := range ops {
		ok := false
		for st := range statuses[o.method+" "+o.path] {
			ok = ok || (st >= 200 && st < 300)
		}
		if !ok {
			t.Errorf("%s %s never succeeded in %d requests: %v", o.method, o.path, propertyRounds, statuses[o.method+" "+o.path])
		}
	}
}

// quoteBody shows a body in a failure message, control characters escaped.
func quoteBody(b string) string {
	if b == "" {
		return "(none)"
	}
	q := strconv.Quote(b)
	if len(q) > 300 {
		q = q[:300] + "…"
	}
	return q
}

// check validates one generated request's answer and returns what is
// wrong with it, or "".
func (k *contract) check(req propertyRequest, resp *http.Response, body string) string {
	if resp.StatusCode >= 500 {
		return "a 5xx for a generated request"
	}
	ctx := context.Background()
	hreq := contractRequest(req.method, req.path, req.token, req.contentType, req.body)
	route, params, err := k.router.FindRoute(hreq)
	if errors.Is(err, routers.ErrMethodNotAllowed) || errors.Is(err, routers.ErrPathNotFound) {
		// No operation: the shared response for the status, which must be
		// 404 or 405 (401 first when the token is missing).
		name := map[int]string{http.StatusUnauthorized: "Unauthorized", http.StatusNotFound: "NotFound", http.StatusMethodNotAllowed: "MethodNotAllowed"}[resp.StatusCode]
		switch {
		case name == "":
			return "a path or method the document does not have answered neither 404 nor 405"
		case errors.Is(err, routers.ErrMethodNotAllowed) && resp.StatusCode == http.StatusNotFound:
			return "a documented path called with another method answered 404, not 405"
		}
		route = k.componentRoute(name, resp.StatusCode)
	} else if err != nil {
		return "no route in the document: " + err.Error()
	}
	in := &openapi3filter.RequestValidationInput{Request: hreq, PathParams: params, Route: route, Options: contractOptions()}
	if route.Operation.OperationID != "" && resp.StatusCode < 300 {
		if rerr := openapi3filter.ValidateRequest(ctx, in); rerr != nil {
			return "the server accepted a request the document refuses: " + firstLine(rerr.Error())
		}
	}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: contractOptions()}
	rin.SetBodyBytes([]byte(body))
	if err := openapi3filter.ValidateResponse(ctx, rin); err != nil {
		return "the answer does not match the document: " + firstLine(err.Error())
	}
	if resp.Header.Get("Content-Type") == "application/problem+json" {
		var p struct {
			Status int `json:"status"`
		}
		if err := json.Unmarshal([]byte(body), &p); err != nil || p.Status != resp.StatusCode {
			return fmt.Sprintf("a problem with status %d in a %d response", p.Status, resp.StatusCode)
		}
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// propertyRequest is one generated request.
type propertyRequest struct {
	method, path, token, caller, contentType, body string
}

// propertyGen generates requests from the document's schemas.
type propertyGen struct {
	rng        *rand.Rand
	f          *apiFixture
	ids        map[string][]int64 // known ids by collection: users, tokens, teams
	avoidUser  int64
	avoidToken int64
}

func (g *propertyGen) chance(p float64) bool { return g.rng.Float64() < p }

func pick[T any](g *propertyGen, xs []T) T { return xs[g.rng.IntN(len(xs))] }

// learn adds the id of a record a request created to its pool.
func (g *propertyGen) learn(path, body string) {
	var rec struct {
		ID int64 `json:"id"`
	}
	if json.Unmarshal([]byte(body), &rec) != nil || rec.ID == 0 {
		return
	}
	switch {
	case path == "/users":
		g.ids["users"] = append(g.ids["users"], rec.ID)
	case path == "/teams":
		g.ids["teams"] = append(g.ids["teams"], rec.ID)
	case path == "/webhooks":
		g.ids["webhooks"] = append(g.ids["webhooks"], rec.ID)
	case strings.HasSuffix(path, "/tokens") || strings.HasSuffix(path, "/rotate"):
		g.ids["tokens"] = append(g.ids["tokens"], rec.ID)
	}
}

// request builds one request for an operation.
func (g *propertyGen) request(path, method string, op *openapi3.Operation) propertyRequest {
	r := propertyRequest{method: method, caller: "admin", token: g.f.admin}
	switch x := g.rng.IntN(40); {
	case x == 0:
		r.caller, r.token = "manager", g.f.manager
	case x == 1:
		r.caller, r.token = "member", g.f.member
	case x == 2:
		r.caller, r.token = "revoked token", g.f.revoked
	case x == 3:
		r.caller, r.token = "no token", ""
	case x == 4:
		// Another method on a documented path: 405 with Allow.
		r.method = pick(g, []string{"PUT", "PATCH", "DELETE", "POST", "GET"})
	}
	if path == "/introspect" && g.chance(0.5) {
		r.caller, r.token = "manager", g.f.manager
	}

	// The path, with its id known, unknown or malformed.
	collection, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	concrete := path
	if strings.Contains(path, "{id}") {
		concrete = strings.Replace(path, "{id}", g.pathID(collection), 1)
	}
	r.path = "/api/v1" + concrete

	// The query string.
	q := url.Values{}
	for _, p := range op.Parameters {
		pv := p.Value
		if pv.In != "query" || !g.chance(0.35) {
			continue
		}
		s := pv.Schema.Value
		if s.Type.Is("array") {
			for range 1 + g.rng.IntN(3) {
				// Not "" beside other values: the server leaves it out, as
				// the document says, but kin-openapi checks it against the
				// items' schema.
				if v := g.queryValue(pv.Name, s.Items.Value); v != "" {
					q.Add(pv.Name, v)
				}
			}
			continue
		}
		q.Add(pv.Name, g.queryValue(pv.Name, s))
	}
	if g.chance(0.05) {
		q.Add("unknown_param", "1")
	}
	if len(q) > 0 {
		r.path += "?" + q.Encode()
	}

	// The body.
	if op.RequestBody == nil {
		if g.chance(0.1) {
			r.contentType, r.body = "application/json", pick(g, []string{`{}`, `{"x":1}`, `null`})
		}
		return r
	}
	rb := op.RequestBody.Value
	var media []string
	for mt := range rb.Content {
		media = append(media, mt)
	}
	slices.Sort(media)
	mt := pick(g, media)
	schema := rb.Content[mt].Schema.Value
	switch x := g.rng.IntN(20); {
	case x == 0 && !rb.Required:
		return r // no body at all
	case x == 1:
		r.contentType, r.body = pick(g, []string{"text/plain", "", "application/xml", "application/json; charset=utf-8"}), `{"name":"x"}`
		return r
	case x == 2:
		r.contentType, r.body = "application/json", pick(g, []string{``, `null`, `[]`, `"x"`, `42`, `{`, `{"name":"a"} {"name":"b"}`, "\x00"})
		return r
	}
	r.contentType = mt
	obj := g.value("", schema, 0).(map[string]any)
	if g.chance(0.6) {
		g.spoil(obj, schema)
	}
	// A bulk revocation never names the caller's own token (the fixture's
	// first): the rest of the run would be 401s.
	if ids, ok := obj["ids"].([]any); ok && path == "/tokens/revoke" {
		obj["ids"] = slices.DeleteFunc(ids, func(v any) bool { return fmt.Sprint(v) == strconv.FormatInt(g.avoidToken, 10) })
	}
	if mt == "application/x-www-form-urlencoded" {
		form := url.Values{}
		for key, v := range obj {
			if v != nil {
				form.Set(key, fmt.Sprint(v))
			}
		}
		r.body = form.Encode()
		return r
	}
	b, _ := json.Marshal(obj)
	r.body = string(b)
	return r
}

// pathID is a path id: mostly a known record, sometimes not one at all.
func (g *propertyGen) pathID(collection string) string {
	if pool := g.ids[collection]; len(pool) > 0 && g.chance(0.75) {
		return strconv.FormatInt(pick(g, pool), 10)
	}
	return pick(g, []string{"999999", "0", "-1", "abc", "", "1.5", "99999999999999999999", "%00", "%E2%82%AC", "%20", "1e3", "0x10"})
}

// queryValue is a query parameter's value: usually one its schema allows.
func (g *propertyGen) queryValue(name string, s *openapi3.Schema) string {
	if g.chance(0.25) {
		return pick(g, []string{"", "x", "-1", "0", "1.5", "99999999999999999999", "\x00", "a\x7fb", "é", strings.Repeat("y", 101), "true", "null"})
	}
	switch name {
	case "team":
		return strconv.FormatInt(pick(g, g.ids["teams"]), 10)
	case "actor_id", "user", "target_id":
		return strconv.FormatInt(pick(g, g.ids["users"]), 10)
	case "cursor":
		return strconv.Itoa(1 + g.rng.IntN(200))
	}
	v := g.value(name, s, 0)
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// value is a value its schema allows (null sometimes, where allowed).
func (g *propertyGen) value(name string, s *openapi3.Schema, depth int) any {
	if len(s.AllOf) == 1 {
		if s.Nullable && g.chance(0.3) {
			return nil
		}
		return g.value(name, s.AllOf[0].Value, depth)
	}
	if s.Nullable && g.chance(0.15) {
		return nil
	}
	if len(s.Enum) > 0 {
		return pick(g, s.Enum)
	}
	switch {
	case s.Type.Is("object"):
		out := map[string]any{}
		keys := make([]string, 0, len(s.Properties))
		for key := range s.Properties {
			keys = append(keys, key)
		}
		slices.Sort(keys)
		for _, key := range keys {
			if slices.Contains(s.Required, key) || g.chance(0.5) {
				out[key] = g.value(key, s.Properties[key].Value, depth+1)
			}
		}
		return out
	case s.Type.Is("array"):
		var out []any
		for range g.rng.IntN(3) {
			out = append(out, g.value(name, s.Items.Value, depth+1))
		}
		return out
	case name == "ids" && s.Type == nil: // a bulk revocation's ids: any JSON
		if g.chance(0.8) && len(g.ids["tokens"]) > 0 {
			return pick(g, g.ids["tokens"])
		}
		return pick(g, []any{"x", 1.5, -3, nil, 999999})
	case s.Type.Is("integer"):
		switch name {
		case "team_ids":
			return pick(g, g.ids["teams"])
		case "id": // an owner: a person or a team
			return pick(g, append(append([]int64{}, g.ids["teams"]...), 1))
		}
		lo, hi := 1.0, 400.0
		if s.Min != nil {
			lo = *s.Min
		}
		if s.Max != nil {
			hi = *s.Max
		}
		return int64(lo) + g.rng.Int64N(int64(min(hi-lo, 400))+1)
	case s.Type.Is("boolean"):
		return g.chance(0.5)
	case s.Type.Is("string"):
		switch s.Format {
		case "date-time":
			return time.Now().Add(time.Duration(1+g.rng.IntN(2000)) * time.Hour).UTC().Format(time.RFC3339)
		case "date":
			return time.Now().AddDate(0, 0, -g.rng.IntN(400)).Format("2006-01-02")
		}
		switch name {
		case "token":
			return pick(g, []string{g.f.member, g.f.revoked, g.f.expired, "wdn_unknown", "nope"})
		case "url": // a webhook's: mostly valid, under .invalid (RFC 2606)
			return pick(g, []string{"https://hooks.example.invalid/warden", "https://a.invalid", "https://b.invalid:8443/h?k=v",
				"http://plain.invalid/", "ftp://x.invalid", "https://u:p@c.invalid/", "not a url"})
		}
		return pick(g, []string{"Build bot", "etl", "Café ", "Ops team", "ci-" + strconv.Itoa(g.rng.IntN(1000)), "a", "日本語", "x y z"})
	}
	return nil
}

// spoil breaks a valid body the ways clients do: null or a wrong type for
// a field, a required field left out, an unknown field, values out of
// range.
func (g *propertyGen) spoil(obj map[string]any, s *openapi3.Schema) {
	keys := make([]string, 0, len(s.Properties))
	for key := range s.Properties {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	for range 1 + g.rng.IntN(2) {
		key := pick(g, keys)
		switch g.rng.IntN(6) {
		case 0:
			obj[key] = nil
		case 1:
			obj[key] = pick(g, []any{42, -1, 0, 1.5, "x", "", true, []any{}, []any{nil}, map[string]any{}, map[string]any{"kind": nil, "id": nil}, 1e20})
		case 2:
			if len(s.Required) > 0 {
				delete(obj, pick(g, s.Required))
			}
		case 3:
			obj["extra_field"] = pick(g, []any{1, nil, "x"})
		case 4:
			obj[key] = pick(g, []any{strings.Repeat("n", 300), "\x00\x01", " ", "!!!", "wdn_" + strings.Repeat("A", 40)})
		case 5:
			obj[key] = pick(g, []any{[]any{0}, []any{-5}, []any{1, 1}, []any{999999}, map[string]any{"kind": "team", "id": 999999}, map[string]any{"kind": "robot", "id": 1}})
		}
	}
}
