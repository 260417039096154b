/* rw_rules: each prose rule of the spec, accepted and refused, its error record, what it skips,
 * and the cap. */
#include <stdint.h>
#include <stdlib.h>

#include "rw_rules.h"
#include "rwtest.h"

#define FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define NONE  INT64_MIN /* no "min"/"max" member expected */
#define OK(task)                                                                                   \
    {                                                                                              \
        task, 0, NULL, NULL, NULL, NONE, NONE                                                      \
    }

struct rcase {
    const char *task;
    int nerr;
    const char *code, *param, *msg; /* the first error, when nerr > 0 */
    int64_t min, max;
};

static int64_t member_int(json_object *e, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(e, key, &v) ? json_object_get_int64(v) : NONE;
}

static const char *member(json_object *e, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(e, key, &v) ? json_object_get_string(v) : "";
}

static void run_cases(const struct rcase *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_object *task = json_tokener_parse(t[i].task), *errs = json_object_new_array(), *e;
        int got = rw_rules_check(task, errs, 50);

        if (got != t[i].nerr || (int)json_object_array_length(errs) != got) {
            fprintf(stderr, "  %s: %d errors, expected %d: %s\n", t[i].task, got, t[i].nerr,
                    json_object_to_json_string_ext(errs, FLAGS));
            RWT_CHECK(0);
        } else if (t[i].nerr > 0) {
            e = json_object_array_get_idx(errs, 0);
            if (strcmp(member(e, "code"), t[i].code) != 0 ||
                strcmp(member(e, "parameter"), t[i].param) != 0 ||
                !strstr(member(e, "message"), t[i].msg) || member_int(e, "min") != t[i].min ||
                member_int(e, "max") != t[i].max) {
                fprintf(stderr, "  %s: %s\n", t[i].task, json_object_to_json_string_ext(e, FLAGS));
                RWT_CHECK(0);
            }
        }
        json_object_put(errs);
        json_object_put(task);
    }
}

#define INV "invalidParameter"
#define MIS "missingParameter"
#define CON "conflictingParameters"

static void test_accelerator(void)
{
    static const struct rcase t[] = {
        OK("{\"steps\":30,\"acceleratorOptions\":{\"cacheStartStep\":2,\"cacheEndStep\":20}}"),
        {"{\"acceleratorOptions\":{\"cacheStartStep\":5,\"cacheEndStep\":5}}", 1, INV,
         "acceleratorOptions.cacheEndStep",
         "acceleratorOptions.cacheEndStep 5 must be greater than acceleratorOptions.cacheStartStep "
         "5",
         6, NONE},
        {"{\"acceleratorOptions\":{\"cacheStartStep\":9,\"cacheEndStep\":3}}", 1, INV,
         "acceleratorOptions.cacheEndStep", "3 must be greater than", 10, NONE},
        OK("{\"steps\":20,\"acceleratorOptions\":{\"cacheEndStep\":20}}"),
        {"{\"steps\":20,\"acceleratorOptions\":{\"cacheEndStep\":21}}", 1, INV,
         "acceleratorOptions.cacheEndStep",
         "acceleratorOptions.cacheEndStep 21 is greater than steps 20; it must be at most steps",
         NONE, 20},
        /* no steps: Runware's default is not in the spec, so nothing to compare with */
        OK("{\"acceleratorOptions\":{\"cacheEndStep\":500}}"),
        OK("{\"acceleratorOptions\":{\"cacheStartStepPercentage\":10,\"cacheEndStepPercentage\":90}"
           "}"),
        {"{\"acceleratorOptions\":{\"cacheStartStepPercentage\":60,\"cacheEndStepPercentage\":60}}",
         1, INV, "acceleratorOptions.cacheEndStepPercentage",
         "cacheEndStepPercentage 60 must be greater than "
         "acceleratorOptions.cacheStartStepPercentage"
         " 60",
         61, NONE},
        /* mixed absolute and percentage: the spec states no ordering between them */
        OK("{\"steps\":10,\"acceleratorOptions\":{\"cacheStartStep\":8,\"cacheEndStepPercentage\":"
           "10}}"),
        /* both orderings broken at once: both reported */
        {"{\"steps\":10,\"acceleratorOptions\":{\"cacheStartStep\":12,\"cacheEndStep\":11}}", 2,
         INV, "acceleratorOptions.cacheEndStep", "11 must be greater than", 13, NONE},
    };

    run_cases(t, sizeof(t) / sizeof(t[0]));
}

static void test_controlnet(void)
{
    static const struct rcase t[] = {
        OK("{\"steps\":30,\"controlNet\":[{\"startStep\":0,\"endStep\":30}]}"),
        {"{\"steps\":30,\"controlNet\":[{\"startStep\":0,\"endStep\":20},{\"startStep\":10,"
         "\"endStep\":10}]}",
         1, INV, "controlNet[1].endStep",
         "controlNet[1].endStep 10 must be greater than controlNet[1].startStep 10", 11, NONE},
        {"{\"steps\":30,\"controlNet\":[{\"endStep\":31}]}", 1, INV, "controlNet[0].endStep",
         "controlNet[0].endStep 31 is greater than steps 30", NONE, 30},
        {"{\"controlNet\":[{\"startStepPercentage\":50,\"endStepPercentage\":40}]}", 1, INV,
         "controlNet[0].endStepPercentage",
         "controlNet[0].endStepPercentage 40 must be greater than "
         "controlNet[0].startStepPercentage 50",
         51, NONE},
        OK("{\"controlNet\":[{\"startStepPercentage\":0,\"endStepPercentage\":100}]}"),
        /* items that are not objects, and a controlNet that is not an array: the schema's job */
        {"{\"steps\":5,\"controlNet\":[7,null,{\"endStep\":6}]}", 1, INV, "controlNet[2].endStep",
         "6 is greater than steps 5", NONE, 5},
        OK("{\"steps\":5,\"controlNet\":{\"endStep\":6}}"),
    };

    run_cases(t, sizeof(t) / sizeof(t[0]));
}

static void test_pulid(void)
{
    static const struct rcase t[] = {
        OK("{\"steps\":20,\"pulid\":{\"CFGstartStep\":19}}"),
        {"{\"steps\":20,\"pulid\":{\"CFGstartStep\":20}}", 1, INV, "pulid.CFGstartStep",
         "pulid.CFGstartStep 20 must be less than steps 20", NONE, 19},
        OK("{\"pulid\":{\"CFGstartStep\":99}}"),
    };

    run_cases(t, sizeof(t) / sizeof(t[0]));
}

static void test_inputs(void)
{
    static const struct rcase t[] = {
        OK("{\"inputs\":{\"seedImage\":\"a\",\"maskImage\":\"b\"}}"),
        OK("{\"inputs\":{\"seedImage\":\"a\"}}"),
        {"{\"inputs\":{\"maskImage\":\"b\"}}", 1, MIS, "inputs.seedImage",
         "inputs.seedImage is required when inputs.maskImage is given", NONE, NONE},
    };

    run_cases(t, sizeof(t) / sizeof(t[0]));
}

static void test_layer_diffuse(void)
{
    static const struct rcase t[] = {
        OK("{\"layerDiffuse\":true,\"outputFormat\":\"PNG\"}"),
        OK("{\"layerDiffuse\":true,\"outputFormat\":\"WEBP\"}"),
        OK("{\"layerDiffuse\":false}"),
        {"{\"layerDiffuse\":true}", 1, CON, "outputFormat",
         "layerDiffuse needs outputFormat PNG or WEBP (transparency needs an alpha channel); "
         "outputFormat is JPG (the default)",
         NONE, NONE},
        {"{\"layerDiffuse\":true,\"outputFormat\":\"JPG\"}", 1, CON, "outputFormat",
         "outputFormat is JPG", NONE, NONE},
        /* values of the wrong type are the schema's to report */
        OK("{\"layerDiffuse\":\"true\"}"),
        OK("{\"layerDiffuse\":true,\"outputFormat\":7}"),
    };

    run_cases(t, sizeof(t) / sizeof(t[0]));
    {
        json_object *task = json_tokener_parse("{\"layerDiffuse\":true,\"outputFormat\":\"JPG\"}");
        json_object *errs = json_object_new_array(), *e, *a;

        RWT_CHECK_INT(rw_rules_check(task, errs, 50), 1);
        e = json_object_array_get_idx(errs, 0);
        RWT_CHECK(strstr(member(e, "message"), "(the default)") == NULL);
        RWT_CHECK(json_object_object_get_ex(e, "allowed", &a));
        RWT_CHECK_STR(json_object_to_json_string_ext(a, FLAGS), "[\"PNG\",\"WEBP\"]");
        json_object_put(errs);
        json_object_put(task);
    }
}

static void test_ace_model(void)
{
    static const struct rcase t[] = {
        {"{\"model\":\"runware:111@1\",\"acePlusPlus\":{\"images\":[\"a\"]}}", 1, CON,
         "acePlusPlus",
         "acePlusPlus needs model runware:102@1 (the spec requires FLUX Fill for ACE++); model is "
         "runware:111@1",
         NONE, NONE},
        OK("{\"model\":\"runware:102@1\",\"acePlusPlus\":{\"images\":[\"a\"]}}"),
        OK("{\"model\":\"runware:111@1\"}"),
        OK("{\"model\":\"runware:111@1\",\"acePlusPlus\":5}"),
    };

    run_cases(t, sizeof(t) / sizeof(t[0]));
}

/* Integers as the schema takes them: 1.0 counts; strings, fractions and absurd values do not. */
static void test_value_types(void)
{
    static const struct rcase t[] = {
        {"{\"steps\":20.0,\"pulid\":{\"CFGstartStep\":20}}", 1, INV, "pulid.CFGstartStep",
         "20 must be less than steps 20", NONE, 19},
        OK("{\"steps\":\"20\",\"pulid\":{\"CFGstartStep\":20}}"),
        OK("{\"steps\":20,\"pulid\":{\"CFGstartStep\":20.5}}"),
        OK("{\"steps\":20,\"pulid\":{\"CFGstartStep\":1e300}}"),
        OK("{\"steps\":20,\"pulid\":{\"CFGstartStep\":99999999999999999999}}"),
        OK("{\"steps\":20,\"pulid\":\"x\"}"),
        OK("{\"acceleratorOptions\":[1,2]}"),
        OK("[]"),
    };

    run_cases(t, sizeof(t) / sizeof(t[0]));
}

static void test_cap(void)
{
    json_object *task = json_tokener_parse(
        "{\"steps\":2,\"layerDiffuse\":true,\"inputs\":{\"maskImage\":\"m\"},\"controlNet\":["
        "{\"endStep\":3},{\"endStep\":4},{\"endStep\":5},{\"endStep\":6}]}");
    json_object *errs = json_object_new_array();

    RWT_CHECK_INT(rw_rules_check(task, errs, 50), 6);
    json_object_put(errs);
    errs = json_object_new_array();
    RWT_CHECK_INT(rw_rules_check(task, errs, 2), 2);
    RWT_CHECK_INT(json_object_array_length(errs), 2);
    json_object_put(errs);
    /* the cap falls just before, then on, the layerDiffuse error (the one with "allowed") */
    errs = json_object_new_array();
    RWT_CHECK_INT(rw_rules_check(task, errs, 5), 5);
    RWT_CHECK_STR(member(json_object_array_get_idx(errs, 4), "parameter"), "inputs.seedImage");
    RWT_CHECK(!json_object_object_get_ex(json_object_array_get_idx(errs, 4), "allowed", NULL));
    json_object_put(errs);
    errs = json_object_new_array();
    RWT_CHECK_INT(rw_rules_check(task, errs, 6), 6);
    RWT_CHECK_STR(member(json_object_array_get_idx(errs, 5), "parameter"), "outputFormat");
    RWT_CHECK(json_object_object_get_ex(json_object_array_get_idx(errs, 5), "allowed", NULL));
    json_object_put(errs);
    errs = json_object_new_array();
    RWT_CHECK_INT(rw_rules_check(task, errs, 0), 0);
    RWT_CHECK_INT(json_object_array_length(errs), 0);
    json_object_put(errs);
    json_object_put(task);
}

static const struct rwt_case cases[] = {
    {"accelerator", test_accelerator},
    {"controlnet", test_controlnet},
    {"pulid", test_pulid},
    {"inputs", test_inputs},
    {"layer_diffuse", test_layer_diffuse},
    {"ace_model", test_ace_model},
    {"value_types", test_value_types},
    {"cap", test_cap},
};

RWT_MAIN(cases)
