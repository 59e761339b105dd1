package views

// FirstError returns the first of ids, in the form's order, that has a
// message in errs, or fallback when none has. A form puts autofocus on
// that field alone, so after an error the browser, even without
// JavaScript, starts on the first field to fix rather than on one that
// was fine.
func FirstError(errs map[string]string, fallback string, ids ...string) string {
	for _, id := range ids {
		if errs[id] != "" {
			return id
		}
	}
	return fallback
}
