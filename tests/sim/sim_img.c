/* Small real images (16x16 gradient) returned as base64 outputs: made once with libjpeg
 * (quality 60), zlib (PNG) and libwebp (lossless), then embedded. */
#include "sim.h"

static const char img_jpg[] =
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA0JCgsKCA0LCgsODg0PEyAVExISEyccHhcgLikxMC4pLSwzOko+MzZG"
    "NywtQFdBRkxOUlNSMj5aYVpQYEpRUk//2wBDAQ4ODhMREyYVFSZPNS01T09PT09PT09PT09PT09PT09PT09PT09P"
    "T09PT09PT09PT09PT09PT09PT09PT09PT0//wAARCAAQABADASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAA"
    "AwX/xAAYEAACAwAAAAAAAAAAAAAAAAAAAwQhMf/EABUBAQEAAAAAAAAAAAAAAAAAAAQF/8QAGBEAAgMAAAAAAAAA"
    "AAAAAAAAAAMEBTH/2gAMAwEAAhEDEQA/AARGyikiNlCojZRSRGyig14evk4f/9k=";

static const char img_png[] =
    "iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAB3klEQVR42g3LIc6GIACA4f843wE8gAfwAIzoSCZm"
    "dCQTIzISiRmZyeSMjPDOxMwe5vfpz99P0kl6ySAREiXREiOxkiBJkl1ySqqkSV7J32+kG+lHhhExokb0iBmxI2Ek"
    "jewj50gdaSPv+IWJbqKfGCbEhJrQE2bCToSJNLFPnBN1ok280xdmupl+ZpgRM2pGz5gZOxNm0sw+c87UmTbzzl9Y"
    "6Bb6hWFBLKgFvWAW7EJYSAv7wrlQF9rCu3xhpVvpV4YVsaJW9IpZsSthJa3sK+dKXWkr7/oFR+foHYNDOJRDO4zD"
    "OoIjOXbH6aiO5njdFzydp/cMHuFRHu0xHusJnuTZPaeneprn9V+IdJE+MkREREV0xERsJERSZI+ckRppkTd+YaPb"
    "6DeGDbGhNvSG2bAbYSNt7BvnRt1oG+/2hUyX6TNDRmRURmdMxmZCJmX2zJmpmZZ58xcOuoP+YDgQB+pAH5gDexAO"
    "0sF+cB7Ug3bwHl+46C76i+FCXKgLfWEu7EW4SBf7xXlRL9rFe32h0BX6wlAQBVXQBVOwhVBIhb1wFmqhFd7yhZvu"
    "pr8ZbsSNutE35sbehJt0s9+cN/Wm3bz3Fx66h/5heBAP6kE/mAf7EB7Sw/5wPtSH9vA+/ANfBeAQPyK7DgAAAABJ"
    "RU5ErkJggg==";

static const char img_webp[] =
    "UklGRjQAAABXRUJQVlA4TCgAAAAvD8ADAJkyRPQ/NhHR/wCRts3gNN6/l8FTgUCKAxjkQY4J2EkVqP8A";

const char *sim_img_base64(enum sim_fmt fmt)
{
    switch (fmt) {
    case SIM_FMT_PNG:
        return img_png;
    case SIM_FMT_WEBP:
        return img_webp;
    case SIM_FMT_JPG:
    default:
        return img_jpg;
    }
}

const char *sim_img_mime(enum sim_fmt fmt)
{
    switch (fmt) {
    case SIM_FMT_PNG:
        return "image/png";
    case SIM_FMT_WEBP:
        return "image/webp";
    case SIM_FMT_JPG:
    default:
        return "image/jpeg";
    }
}

const char *sim_img_ext(enum sim_fmt fmt)
{
    switch (fmt) {
    case SIM_FMT_PNG:
        return "png";
    case SIM_FMT_WEBP:
        return "webp";
    case SIM_FMT_JPG:
    default:
        return "jpg";
    }
}
