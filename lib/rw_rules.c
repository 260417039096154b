/* Placeholder until the prose rules land (issue 3). */
