# ctest runwarectl.validate: runs `runwarectl validate` on the jobs in this directory and checks
# exit status, standard output (exactly, or a regex) and standard error. Invoked by
# daemon/CMakeLists.txt as: cmake -DRUNWARECTL=... -DDATA=... -DSPEC=... -P this-file
set(failures 0)

# check(NAME n RC status [EXPECT file | MATCH regex] [STDERR regex] [INPUT file] ARGS args...)
function(check)
  cmake_parse_arguments(C "" "NAME;RC;EXPECT;MATCH;STDERR;INPUT" "ARGS" ${ARGN})
  set(input_opt)
  if(C_INPUT)
    set(input_opt INPUT_FILE ${C_INPUT})
  endif()
  execute_process(COMMAND ${C_ARGS} ${input_opt}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(bad "")
  if(NOT rc STREQUAL C_RC)
    string(APPEND bad " exit ${rc}, expected ${C_RC};")
  endif()
  if(C_EXPECT)
    file(READ ${C_EXPECT} want)
    if(NOT out STREQUAL want)
      string(APPEND bad " stdout differs from ${C_EXPECT};")
    endif()
  endif()
  if(C_MATCH AND NOT out MATCHES "${C_MATCH}")
    string(APPEND bad " stdout does not match ${C_MATCH};")
  endif()
  if(C_STDERR AND NOT err MATCHES "${C_STDERR}")
    string(APPEND bad " stderr does not match ${C_STDERR};")
  endif()
  if(bad)
    message("FAIL ${C_NAME}:${bad}\n--- stdout:\n${out}--- stderr:\n${err}")
    math(EXPR n "${failures} + 1")
    set(failures ${n} PARENT_SCOPE)
  else()
    message("ok   ${C_NAME}")
  endif()
endfunction()

set(V ${RUNWARECTL} validate --spec ${SPEC})

check(NAME minimal RC 0 MATCH "^valid\n$" ARGS ${V} ${DATA}/valid-minimal.json)
check(NAME envelope RC 0 MATCH "^valid\n$" ARGS ${V} ${DATA}/valid-envelope.json)
check(NAME every-feature-at-its-bounds RC 0 MATCH "^valid\n$" ARGS ${V} ${DATA}/valid-full.json)
check(NAME stdin RC 0 MATCH "^valid\n$" INPUT ${DATA}/valid-envelope.json ARGS ${V} -)
check(NAME spec-equals-form RC 0 MATCH "^valid\n$"
      ARGS ${RUNWARECTL} validate --spec=${SPEC} ${DATA}/valid-minimal.json)
check(NAME spec-from-environment RC 0 MATCH "^valid\n$"
      ARGS ${CMAKE_COMMAND} -E env RUNWARED_MODEL_SPEC=${SPEC}
           ${RUNWARECTL} validate ${DATA}/valid-minimal.json)
check(NAME one-error RC 1 EXPECT ${DATA}/invalid-width.expected
      ARGS ${V} ${DATA}/invalid-width.json)
check(NAME every-error-one-a-line RC 1 EXPECT ${DATA}/invalid-many.expected
      ARGS ${V} ${DATA}/invalid-many.json)
check(NAME not-json RC 1 MATCH "^payload is not valid JSON: [^\n]* \\[invalidJSON\\]\n$"
      ARGS ${V} ${DATA}/invalid-json.txt)
check(NAME structural RC 1 MATCH "^deliveryMethod: [^\n]* \\[unsupportedParameter\\]\n$"
      ARGS ${V} ${DATA}/invalid-structural.json)
check(NAME missing-job-file RC 2 STDERR "no-such-job.json: No such file"
      ARGS ${V} ${DATA}/no-such-job.json)
check(NAME missing-spec RC 2 STDERR "model spec: .*no-such-spec.json: cannot open"
      ARGS ${RUNWARECTL} validate --spec ${DATA}/no-such-spec.json ${DATA}/valid-minimal.json)
check(NAME spec-not-a-spec RC 2 STDERR "model spec: .*invalid-json.txt: not valid JSON"
      ARGS ${RUNWARECTL} validate --spec ${DATA}/invalid-json.txt ${DATA}/valid-minimal.json)
if(NOT EXISTS /etc/runwared/flux-1-dev-srpo.schema.json)
  check(NAME default-spec-path RC 2 STDERR "/etc/runwared/flux-1-dev-srpo.schema.json: cannot open"
        ARGS ${CMAKE_COMMAND} -E env --unset=RUNWARED_MODEL_SPEC
             ${RUNWARECTL} validate ${DATA}/valid-minimal.json)
endif()
check(NAME no-file RC 2 STDERR "no job file" ARGS ${V})
check(NAME two-files RC 2 STDERR "one job file at a time"
      ARGS ${V} ${DATA}/valid-minimal.json ${DATA}/valid-full.json)
check(NAME unknown-option RC 2 STDERR "unknown option --strict" ARGS ${V} --strict x.json)
check(NAME no-command RC 2 STDERR "usage: runwarectl COMMAND" ARGS ${RUNWARECTL})
check(NAME unknown-command RC 2 STDERR "unknown command \"frobnicate\"" ARGS ${RUNWARECTL} frobnicate)
check(NAME help RC 0 MATCH "validate \\[--spec FILE\\] FILE\\|-" ARGS ${RUNWARECTL} --help)

if(failures GREATER 0)
  message(FATAL_ERROR "${failures} runwarectl check(s) failed")
endif()
