"""LTI 1.3 Advantage: AAIE as a tool inside Canvas, Moodle, Blackboard and Brightspace.

Built on pylti1p3 (see docs/lti.md): it checks launches and signs service requests; this
package maps what it validated onto AAIE's users, courses, assignments and grades.
"""
