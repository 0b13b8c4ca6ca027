"""Classes: a teacher, students who join with a code, what the teacher pushes, locks and challenges."""
