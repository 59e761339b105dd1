package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/warden-console/warden/models"
	"github.com/warden-console/warden/views"
)

// teamsCreate creates a team, audited as the command line, and prints its
// name as stored: what "users create-service --team" takes.
func teamsCreate(args []string, stdout, stderr io.Writer) int {
	var name, description string
	store, code, ok := openForCLI("warden teams create",
		"Usage: warden teams create --name N [--description D] [--db FILE]\n\nCreates a team and prints its name; users join it with \"warden users create-service --team N\".",
		args, stderr, func(fs *flag.FlagSet) {
			fs.StringVar(&name, "name", "", "team name, unique ignoring case (required)")
			fs.StringVar(&description, "description", "", "what the team is for")
		})
	if !ok {
		return code
	}
	defer store.Close()
	t, err := store.CreateTeam(context.Background(), cliActor, models.TeamInput{Name: name, Description: description})
	if err != nil {
		return reportStoreError(stderr, err)
	}
	fmt.Fprintln(stdout, t.Name)
	fmt.Fprintf(stderr, "Created team %q (id %d).\n", t.Name, t.ID)
	return 0
}

// teamsList prints every team, Public first, with its active members.
func teamsList(args []string, stdout, stderr io.Writer) int {
	store, code, ok := openForCLI("warden teams list",
		"Usage: warden teams list [--db FILE]\n\nLists the teams: id, name, active members and description.",
		args, stderr, func(*flag.FlagSet) {})
	if !ok {
		return code
	}
	defer store.Close()
	teams, err := store.Teams(context.Background())
	if err != nil {
		return reportStoreError(stderr, err)
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tMEMBERS\tDESCRIPTION")
	for _, t := range teams {
		// Names and descriptions are typed by people: one line each, with
		// control characters escaped, so a row cannot forge another.
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", t.ID, views.OneLine(t.Name), strconv.FormatInt(t.Members, 10), views.OneLine(t.Description))
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(stderr, "warden:", err)
		return 1
	}
	return 0
}
