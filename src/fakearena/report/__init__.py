"""Reports: leaderboards and plots built from results.json records."""
