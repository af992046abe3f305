"""Reference systems measured in the same harness as guidechat (what a user would run without it)."""
